#!/usr/bin/env python3
"""
Compares webgrad's pixels with PIL's on every image of the shared data sets (issue 24):
`Image.open(f).convert('RGB')`, and `.resize(size, Image.BILINEAR)` to the lab's sizes
(CIFAR-10 32→24, vehicles 100→64, dehaze 310×230→128×96), by SHA-256 of the bytes.

    python3 tools/compare-with-pil.py [DATA_DIR] [--limit N]

DATA_DIR defaults to $WEBGRAD_SHARED_DATA or ../shared/data beside the repository. Needs PIL
(Debian's python3-pil 9.4) and the repository's node_modules. Prints, per set, how many files
decode and resize to identical bytes, and names the files that do not.
"""
import glob, hashlib, os, subprocess, sys
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [a for a in sys.argv[1:] if not a.startswith('--')]
limit = int(sys.argv[sys.argv.index('--limit') + 1]) if '--limit' in sys.argv else None
if limit is not None:
    args = [a for a in args if a != str(limit)]
DATA = args[0] if args else os.environ.get('WEBGRAD_SHARED_DATA', os.path.join(ROOT, '..', 'shared', 'data'))
SETS = [
    ('cifar10', 'cifar10/*/*/*.jpg', (24, 24)),
    ('vehicles', 'vehicles/*/*.jpg', (64, 64)),
    ('dehaze', 'dehaze/*/*.jpg', (128, 96)),
]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    jobs = []
    for name, pattern, size in SETS:
        files = sorted(glob.glob(os.path.join(DATA, pattern)))[:limit]
        jobs += [(name, f, size) for f in files]
    if not jobs:
        sys.exit(f'no images under {DATA}')
    feed = ''.join(f'{f}\t{w}\t{h}\n' for _, f, (w, h) in jobs)
    ours = subprocess.run(['npx', 'tsx', os.path.join(ROOT, 'tools', 'webgrad-pixel-hashes.ts')], input=feed, capture_output=True, text=True, cwd=ROOT, check=True).stdout.splitlines()
    assert len(ours) == len(jobs), (len(ours), len(jobs))
    counts = {}
    for (name, f, size), line in zip(jobs, ours):
        c = counts.setdefault(name, {'files': 0, 'decode': 0, 'resize': 0, 'wrong': []})
        c['files'] += 1
        rgb = Image.open(f).convert('RGB')
        got = line.split('\t')
        if got[0] == 'error':
            c['wrong'].append(f'{f}: webgrad error: {got[1]}')
            continue
        same_decode = got[0] == sha(rgb.tobytes())
        same_resize = got[1] == sha(rgb.resize(size, Image.BILINEAR).tobytes())
        c['decode'] += same_decode
        c['resize'] += same_resize
        if not (same_decode and same_resize):
            c['wrong'].append(f'{f}: decode {"same" if same_decode else "DIFFERS"}, resize {"same" if same_resize else "DIFFERS"}')
    print(f'PIL {Image.__version__}, data {os.path.abspath(DATA)}')
    for name, c in counts.items():
        print(f"{name}: {c['files']} files; decode identical {c['decode']}/{c['files']}; bilinear resize identical {c['resize']}/{c['files']}")
        for w in c['wrong'][:20]:
            print('  ' + w)
    total = sum(c['files'] for c in counts.values())
    same = sum(min(c['decode'], c['resize']) for c in counts.values())
    print(f'all: {same}/{total} identical')
    sys.exit(0 if all(not c['wrong'] for c in counts.values()) else 1)


main()
