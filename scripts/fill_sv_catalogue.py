"""Fill the sv catalogue: source language is Swedish, so msgstr = msgid."""

from babel.messages.pofile import read_po, write_po

p = "portal/translations/sv/LC_MESSAGES/messages.po"
with open(p, "rb") as f:
    cat = read_po(f, locale="sv")
for m in cat:
    if not m.id:
        continue
    m.string = tuple(m.id) if isinstance(m.id, (tuple, list)) else m.id
    m.flags.discard("fuzzy")
with open(p, "wb") as f:
    write_po(f, cat, width=100)
