#!/usr/bin/env python3
"""Rewrite the records of an unpacked image member, for hostile-image tests.

A record member is "CKR1" | u32 type | u32 count | records | u32 crc32c,
a record u32 nbytes | fields, a field u16 id | u8 type | u8 0 | u32 len |
value (docs/image-format.md, section 2.1).  The checksum is made again, so
that what restart sees is a well-formed image with hostile content.

  recedit.py MEMBER show
  recedit.py MEMBER set REC FIELD TYPE VALUE   (TYPE u32 u64 i32 i64 str hex)
  recedit.py MEMBER del REC FIELD
  recedit.py MEMBER dup REC                    (a copy of record REC, last)
  recedit.py MEMBER copy REC FIELD TO          (field FIELD of REC into record TO)
  recedit.py MEMBER find FIELD VALUE           (index of the first record whose
                                                field FIELD is VALUE)
  recedit.py DIR fixend ORDER                  (ckpt-end for the members of ORDER)
"""
import os
import struct
import sys

TYPES = {'u32': 1, 'u64': 2, 'i32': 3, 'i64': 4, 'str': 5, 'hex': 6}


def crc32c(data):
    crc = 0xFFFFFFFF
    table = crc32c.table
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


crc32c.table = _table()


def load(path):
    b = open(path, 'rb').read()
    if b[:4] != b'CKR1':
        sys.exit('%s: not a record member' % path)
    rtype, count = struct.unpack_from('<II', b, 4)
    off, recs = 12, []
    for _ in range(count):
        (n,) = struct.unpack_from('<I', b, off)
        off += 4
        end, fields = off + n, []
        while off < end:
            fid, ftype, _, flen = struct.unpack_from('<HBBI', b, off)
            off += 8
            fields.append([fid, ftype, b[off:off + flen]])
            off += flen
        recs.append(fields)
    return rtype, recs


def save(path, rtype, recs):
    out = bytearray(b'CKR1' + struct.pack('<II', rtype, len(recs)))
    for fields in recs:
        body = b''.join(struct.pack('<HBBI', f[0], f[1], 0, len(f[2])) + f[2] for f in fields)
        out += struct.pack('<I', len(body)) + body
    out += struct.pack('<I', crc32c(bytes(out)))
    open(path, 'wb').write(out)


def encode(ftype, value):
    code = TYPES[ftype]
    if code in (1, 2):
        return code, struct.pack('<Q', int(value, 0))
    if code in (3, 4):
        return code, struct.pack('<q', int(value, 0))
    if code == 5:
        return code, value.encode()
    return code, bytes.fromhex(value)


def show_value(ftype, v):
    if ftype in (1, 2):
        return str(struct.unpack('<Q', v)[0])
    if ftype in (3, 4):
        return str(struct.unpack('<q', v)[0])
    if ftype == 5:
        return repr(v.decode(errors='replace'))
    return v.hex() if len(v) <= 64 else v[:64].hex() + '...(%d)' % len(v)


def main():
    path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == 'fixend':
        names = [l.rstrip('\n') for l in open(args[0]) if l.strip() and l.strip() != 'ckpt-end']
        size = sum(os.path.getsize(os.path.join(path, n)) for n in names)
        open(os.path.join(path, 'ckpt-end'), 'w').write('members %d\nbytes %d\n' % (len(names), size))
        return
    rtype, recs = load(path)
    if cmd == 'show':
        for i, fields in enumerate(recs):
            print('%d: %s' % (i, ' '.join('%d=%s' % (f[0], show_value(f[1], f[2])) for f in fields)))
        return
    if cmd == 'find':
        fid = int(args[0])
        for i, fields in enumerate(recs):
            for f in fields:
                if f[0] == fid and show_value(f[1], f[2]).strip("'") == args[1]:
                    print(i)
                    return
        sys.exit('no record with field %s = %s' % (args[0], args[1]))
    rec = int(args[0])
    if cmd == 'dup':
        recs.append([list(f) for f in recs[rec]])
    elif cmd == 'copy':
        fid, to = int(args[1]), int(args[2])
        src = [f for f in recs[rec] if f[0] == fid]
        recs[to] = [f for f in recs[to] if f[0] != fid] + [list(f) for f in src]
    elif cmd == 'del':
        recs[rec] = [f for f in recs[rec] if f[0] != int(args[1])]
    elif cmd == 'set':
        fid = int(args[1])
        code, raw = encode(args[2], args[3])
        for f in recs[rec]:
            if f[0] == fid:
                f[1], f[2] = code, raw
                break
        else:
            recs[rec].append([fid, code, raw])
    else:
        sys.exit('unknown command ' + cmd)
    save(path, rtype, recs)


if __name__ == '__main__':
    main()
