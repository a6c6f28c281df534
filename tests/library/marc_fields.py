"""What pymarc (an independent MARC reader) finds in MARC21 files: for each file, its records in
order, each as its fields [tag, indicators, subfields or data] with text in NFC, or null where
pymarc cannot read the record (permissive mode). A MARCXML file pymarc refuses as a whole gives
{"error": "..."}. Usage: marc_fields.py FILE... → one JSON object {file: records} on stdout."""
import json
import sys
import unicodedata

import pymarc


def nfc(s):
    return unicodedata.normalize("NFC", s)


def fields(record):
    out = []
    for f in record.get_fields():
        if f.is_control_field():
            out.append([f.tag, nfc(f.data)])
        else:
            subs = [[s.code, nfc(s.value)] for s in f.subfields]
            out.append([f.tag, "".join(f.indicators), subs])
    return out


def read(path):
    if path.endswith(".xml"):
        try:
            return [fields(r) for r in pymarc.parse_xml_to_array(path)]
        except Exception as e:  # pymarc refuses the file
            return {"error": str(e)}
    with open(path, "rb") as fh:
        reader = pymarc.MARCReader(fh, to_unicode=True, permissive=True)
        return [None if r is None else fields(r) for r in reader]


print(json.dumps({p: read(p) for p in sys.argv[1:]}, ensure_ascii=False))
