# Extract SQL text from sql(db, ...) / db.prepare(...) in src, translate ? and @name -> $n, PREPARE each on the translated schema.
import re, glob, subprocess, json, collections
files = glob.glob('/tmp/pg-spike/repo/src/**/*.ts', recursive=True)
pat = re.compile(r"(?:\bsql\(\s*[\w.]+,\s*|\.prepare\(\s*)(?:\n\s*)?(['`])(.*?)(?<!\\)\1", re.S)
stmts = []
for f in files:
    for m in pat.finditer(open(f).read()):
        t = m.group(2)
        if '${' in t: stmts.append((f, t, 'template-interpolated')); continue
        stmts.append((f, t, None))
def translate(t):
    names = {}; n = [0]
    def rep(m):
        tok = m.group(0)
        if tok == '?': n[0] += 1; return f'${n[0]}'
        if tok not in names: n[0] += 1; names[tok] = n[0]
        return f'${names[tok]}'
    t = re.sub(r"\?|(?<![\w@])@[a-zA-Z_]\w*", rep, t)
    return t
res = collections.Counter(); errors = []
import os
for i, (f, t, flag) in enumerate(stmts):
    if flag: res[flag] += 1; errors.append((f, flag, t[:100].replace('\n', ' '))); continue
    q = f"PREPARE s{i} AS {translate(t)}"
    p = subprocess.run(['psql', '-h', '/tmp/pg-spike/sock', '-U', 'postgres', '-d', 'mig', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', q], capture_output=True, text=True)
    if p.returncode == 0: res['ok'] += 1
    else:
        res['error'] += 1; errors.append((f.replace('/tmp/pg-spike/repo/', ''), p.stderr.strip().split('\n')[0], t.strip()[:140].replace('\n', ' ')))
print('statements found:', len(stmts), dict(res))
for e in errors: print(' -', e[0], '|', e[1], '|', e[2])
