#!/usr/bin/env python3
"""Independent verifier of Ward evidence bundles (format ward.bundle/v1, docs/BUNDLE.md).

Written from docs/BUNDLE.md, with the Python 3 standard library only: the manifest's hashes,
the checkpoint's Ed25519 signature (pure Python, RFC 8032 reference style, below), every entry's
RFC 6962 / RFC 9162 inclusion proof, and the content-addressed documents, evidence and blobs.
It does not replay gate decisions or re-render the report (Ward's own verifier does).

Usage: python3 tools/verify_bundle.py BUNDLE.tar --key 'name+hex8+base64' (or --key FILE)
Exit status: 0 verified, 3 the first failure (named), 2 usage error.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
import tarfile

FORMAT = "ward.bundle/v1"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
FIXED = {"manifest.json", "checkpoint", "report.html", "report.md"}
HEX64 = re.compile(r"^[0-9a-f]{64}\Z")  # \Z: no trailing newline, unlike $
DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class Failure(Exception):
    """A verification failure naming the file (and entry) to blame."""

    def __init__(self, path, reason, entry=None):
        super().__init__(reason)
        self.path, self.reason, self.entry = path, reason, entry

    def __str__(self):
        if self.entry is not None:
            return "entry %d (%s): %s" % (self.entry, self.path, self.reason)
        return "%s: %s" % (self.path, self.reason)


# ---------------------------------------------------------------------------------------------
# Ed25519 verification, after the reference code of RFC 8032 §6 (verification only).

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _sha512_int(b):
    return int.from_bytes(hashlib.sha512(b).digest(), "little")


def _point_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _point_mul(s, p):
    q = (0, 1, 1, 0)  # neutral element
    while s > 0:
        if s & 1:
            q = _point_add(q, p)
        p = _point_add(p, p)
        s >>= 1
    return q


def _point_equal(p, q):
    if (p[0] * q[2] - q[0] * p[2]) % P != 0:
        return False
    return (p[1] * q[2] - q[1] * p[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)


def _point_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def ed25519_verify(public, msg, signature):
    """RFC 8032 §5.1.7: True when `signature` is a valid signature of `msg` by `public`."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _point_decompress(public)
    if a is None:
        return False
    r = _point_decompress(signature[:32])
    if r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = _sha512_int(signature[:32] + public + msg) % L
    return _point_equal(_point_mul(s, G), _point_add(r, _point_mul(h, a)))


# ---------------------------------------------------------------------------------------------
# RFC 6962 hashing and the RFC 9162 §2.1.3.2 inclusion proof.


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf, index, size, proof):
    if index >= size:
        raise ValueError("index %d is outside a tree of size %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("the proof is too long")
        if fn & 1 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the proof is too short")
    return r


# ---------------------------------------------------------------------------------------------
# Keys, signed notes, checkpoints, tlog-proofs.


def b64(s):
    return base64.b64decode(s.encode("ascii"), validate=True)


def parse_key(vkey):
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise ValueError("a verifier key is name+hex8+base64")
    name, hex8, key_b64 = parts
    if not name or any(c.isspace() for c in name):
        raise ValueError("invalid key name")
    if not re.match(r"^[0-9a-fA-F]{8}$", hex8):
        raise ValueError("the key id must be 8 hex digits")
    key = b64(key_b64)
    if len(key) != 33 or key[0] != 0x01:
        raise ValueError("not an Ed25519 key (0x01 and 32 bytes)")
    kid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if kid != bytes.fromhex(hex8):
        raise ValueError("the key id does not match the key")
    return name, kid, key[1:]


def open_checkpoint(note, key):
    """Verifies the signed note with the key; returns (size, root)."""
    name, kid, public = key
    split = note.rfind(b"\n\n")
    if split < 0:
        raise ValueError("no signature block")
    text, sigs = note[: split + 1], note[split + 2 :]
    if not sigs.endswith(b"\n"):
        raise ValueError("the signature block must end with a newline")
    verified = 0
    for line in sigs[:-1].split(b"\n"):
        line = line.decode("utf-8")
        if not line.startswith("\u2014 "):
            raise ValueError("a signature line does not start with an em dash")
        sig_name, _, sig_b64 = line[2:].rpartition(" ")
        raw = b64(sig_b64)
        if len(raw) < 5:
            raise ValueError("a signature is too short")
        if sig_name != name or raw[:4] != kid:
            continue  # another key's signature
        if not ed25519_verify(public, text, raw[4:]):
            raise ValueError("the signature by %s does not verify" % name)
        verified += 1
    if verified == 0:
        raise ValueError("no signature by the key %s" % name)
    lines = text.decode("utf-8")[:-1].split("\n")
    if len(lines) < 3 or lines[0] != name:
        raise ValueError("the origin is not the key's name %s" % name)
    if not DECIMAL.match(lines[1]):
        raise ValueError("the tree size is not decimal")
    root = b64(lines[2])
    if len(root) != 32:
        raise ValueError("the root hash is not 32 bytes")
    return int(lines[1]), root


def parse_proof(data):
    """A C2SP tlog-proof: returns (index, hashes, checkpoint bytes)."""
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep or not checkpoint:
        raise ValueError("no checkpoint after a blank line")
    lines = head.decode("utf-8").split("\n")
    if lines[0] != PROOF_HEADER:
        raise ValueError("the first line is not %s" % PROOF_HEADER)
    i = 1
    if i < len(lines) and lines[i].startswith("extra "):
        b64(lines[i][6:])
        i += 1
    if i >= len(lines) or not lines[i].startswith("index ") or not DECIMAL.match(lines[i][6:]):
        raise ValueError("no `index <decimal>` line")
    index = int(lines[i][6:])
    hashes = []
    for line in lines[i + 1 :]:
        h = b64(line)
        if len(h) != 32:
            raise ValueError("a proof line is not a 32-byte hash")
        hashes.append(h)
    return index, hashes, checkpoint


# ---------------------------------------------------------------------------------------------
# The bundle.


def read_members(path):
    files = {}
    with tarfile.open(path, mode="r:") as tar:
        for m in tar.getmembers():
            name = m.name
            if not m.isreg():
                raise Failure(name, "not a regular file")
            parts = name.split("/")
            if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise Failure(name, "not a plain relative name")
            if name in files:
                raise Failure(name, "appears twice in the archive")
            files[name] = tar.extractfile(m).read()
    return files


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def doc_refs(value, out):
    """Every JSON string or object key exactly `doc:sha256:<64 hex>` → its digest (a key
    before its value: an SBOM counts licenses under their names' references)."""
    if isinstance(value, str):
        if value.startswith("doc:sha256:") and HEX64.match(value[11:]):
            out.append(value[4:])
    elif isinstance(value, list):
        for v in value:
            doc_refs(v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            doc_refs(k, out)
            doc_refs(v, out)


EVIDENCE_FIELDS = {
    "attestation.added": ("id",),
    "gate.evaluated": ("input_digest", "policy_digest"),
}


def verify(path, key):
    try:
        files = read_members(path)
    except (tarfile.TarError, OSError) as e:
        raise Failure("(archive)", "not a tar archive: %s" % e)
    # 2. The manifest.
    if "manifest.json" not in files:
        raise Failure("manifest.json", "missing: this is not a Ward bundle")
    try:
        manifest = json.loads(files["manifest.json"])
    except ValueError as e:
        raise Failure("manifest.json", "not JSON: %s" % e)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Failure("manifest.json", "format is not %s" % FORMAT)
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise Failure("manifest.json", "no files object")
    # 3. Every member against the manifest.
    for name in sorted(files):
        if name == "manifest.json":
            continue
        if name not in listed:
            raise Failure(name, "not listed in manifest.json")
        if listed[name] != digest(files[name]):
            raise Failure(name, "sha256 does not match manifest.json")
    for name in sorted(listed):
        if name not in files:
            raise Failure(name, "listed in manifest.json but missing")
    # 4. The checkpoint.
    if "checkpoint" not in files:
        raise Failure("checkpoint", "missing")
    try:
        size, root = open_checkpoint(files["checkpoint"], key)
    except (ValueError, UnicodeDecodeError, binascii.Error) as e:
        raise Failure("checkpoint", "does not verify with the key: %s" % e)
    if manifest.get("key_name") != key[0]:
        raise Failure("manifest.json", "key_name is not the verifier key's name")
    described = manifest.get("checkpoint")
    if not isinstance(described, dict) or described.get("size") != size or described.get("root") != base64.b64encode(root).decode():
        raise Failure("manifest.json", "its checkpoint size and root are not the signed checkpoint's")
    # 5. Something to verify.
    entries = manifest.get("entries")
    if not isinstance(entries, list) or not entries:
        raise Failure("manifest.json", "the bundle holds no log entry: nothing could be verified")
    # 6. Entries and proofs.
    payloads, kinds, claimed, last = {}, {}, set(), -1
    for ref in entries:
        seq, kind = ref.get("seq"), ref.get("kind")
        if not isinstance(seq, int) or seq <= last:
            raise Failure("manifest.json", "entry %r is listed out of order or twice" % seq)
        last = seq
        epath, ppath = "entries/%d.json" % seq, "proofs/%d.tlog-proof" % seq
        for p in (epath, ppath):
            if p not in files:
                raise Failure(p, "missing", seq)
            claimed.add(p)
        try:
            index, hashes, cp = parse_proof(files[ppath])
        except (ValueError, UnicodeDecodeError, binascii.Error) as e:
            raise Failure(ppath, "bad proof: %s" % e, seq)
        if cp != files["checkpoint"]:
            raise Failure(ppath, "its checkpoint is not the bundle's checkpoint", seq)
        if index != seq:
            raise Failure(ppath, "proves index %d, not %d" % (index, seq), seq)
        leaf = files[epath]
        try:
            computed = root_from_inclusion(leaf_hash(leaf), seq, size, hashes)
        except ValueError as e:
            raise Failure(epath, "not included in the signed checkpoint (%s): %s" % (ppath, e), seq)
        if computed != root:
            raise Failure(epath, "not included in the signed checkpoint (%s): the root differs" % ppath, seq)
        try:
            env = json.loads(leaf)
        except ValueError:
            raise Failure(epath, "not JSON", seq)
        if env.get("seq") != seq:
            raise Failure(epath, "the envelope says seq %r" % env.get("seq"), seq)
        if env.get("kind") != kind:
            raise Failure("manifest.json", "listed as %r but the entry is %r" % (kind, env.get("kind")), seq)
        kinds[seq] = kind
        payloads[seq] = env.get("payload")
    for name in sorted(files):
        if name.split("/")[0] in ("entries", "proofs") and name not in claimed:
            raise Failure(name, "not an entry of manifest.json")
    # 7. Documents, evidence and blobs.
    docs, evidence, blobs, purges, evidence_purges = {}, {}, set(), {}, {}
    resolved = {}
    for seq in sorted(payloads):
        p = payloads[seq]
        if isinstance(p, dict) and "digest" in p:
            d = p["digest"].get("sha256", "") if isinstance(p["digest"], dict) else ""
            bpath = "blobs/" + d.replace(":", "-", 1)
            if bpath not in files:
                raise Failure(bpath, "its out-of-line payload is missing", seq)
            if digest(files[bpath]) != d:
                raise Failure(bpath, "content does not match its digest", seq)
            blobs.add(bpath)
            value = json.loads(files[bpath])
        elif isinstance(p, dict) and "inline" in p:
            value = p["inline"]
        else:
            raise Failure("entries/%d.json" % seq, "payload is neither inline nor digest", seq)
        resolved[seq] = value
        refs = []
        doc_refs(value, refs)
        for d in refs:
            docs.setdefault(d, seq)
        if kinds[seq] == "document.purged" and isinstance(value, dict) and isinstance(value.get("digest"), str):
            # What it deleted: a text document (no "of"), raw evidence ("evidence") or both.
            of = value.get("of")
            if of is None or of == "both":
                purges.setdefault(value["digest"], seq)
            if of in ("evidence", "both"):
                evidence_purges.setdefault(value["digest"], seq)
        for field in EVIDENCE_FIELDS.get(kinds[seq], ()):
            d = value.get(field) if isinstance(value, dict) else None
            if isinstance(d, str):
                if not d.startswith("sha256:") or not HEX64.match(d[7:]):
                    raise Failure("entries/%d.json" % seq, "names evidence %r, not sha256:<hex>" % d, seq)
                evidence.setdefault(d, seq)
    for name in sorted(files):
        top, _, rest = name.partition("/")
        if name in FIXED or top in ("entries", "proofs"):
            continue
        if top == "blobs":
            if name not in blobs:
                raise Failure(name, "not the payload of any bundled entry")
            continue
        if top not in ("documents", "evidence"):
            raise Failure(name, "not a file of the bundle format")
        d = rest.replace("sha256-", "sha256:", 1)
        if not d.startswith("sha256:") or not HEX64.match(d[7:]) or digest(files[name]) != d:
            raise Failure(name, "content does not match its name")
        if d not in (docs if top == "documents" else evidence):
            raise Failure(name, "not referenced by any bundled entry")
    # A referenced file the bundle does not carry is excused only by a purge of its kind.
    purged = []
    for what, noun, top, refs, purges_of_kind in (
        ("document", "document", "documents/", docs, purges),
        ("raw evidence", "evidence", "evidence/", evidence, evidence_purges),
    ):
        for d in sorted(refs):
            path = top + d.replace(":", "-", 1)
            if path in files:
                continue
            if d not in purges_of_kind:
                raise Failure(path, "%s %s it references is missing and no bundled entry purged it" % (noun, d), refs[d])
            purged.append((what, d, purges_of_kind[d]))
    return {
        "origin": key[0],
        "size": size,
        "root": root.hex(),
        "query": manifest.get("query"),
        "files": len(files),
        "entries": len(entries),
        "documents": sum(1 for n in files if n.startswith("documents/")),
        "evidence": sum(1 for n in files if n.startswith("evidence/")),
        "purged": purged,
    }


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a Ward evidence bundle offline (docs/BUNDLE.md).")
    ap.add_argument("bundle", help="the bundle file (ward bundle export)")
    ap.add_argument("--key", required=True, help="the log's verifier key, or a file holding it")
    args = ap.parse_args(argv)
    vkey = args.key
    if "+" not in vkey and os.path.isfile(vkey):
        with open(vkey, encoding="utf-8") as f:
            vkey = f.read().strip()
    try:
        key = parse_key(vkey)
    except (ValueError, binascii.Error) as e:
        print("error: invalid verifier key: %s" % e, file=sys.stderr)
        return 2
    if not os.path.isfile(args.bundle):
        print("error: %s is not a file" % args.bundle, file=sys.stderr)
        return 2
    try:
        r = verify(args.bundle, key)
    except Failure as f:
        print("FAILED: %s" % f)
        return 3
    print(
        "OK: bundle %s of log %s verified at checkpoint %d (root %s): %d files, %d entries proven, %d documents, %d evidence files"
        % (json.dumps(r["query"], sort_keys=True), r["origin"], r["size"], r["root"], r["files"], r["entries"], r["documents"], r["evidence"])
    )
    for what, d, by in r["purged"]:
        print("  %s %s purged by entry %d" % (what, d, by))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
