# Extract SQL text from sql(db, ...) / .prepare(...) in src, translate ? and @name -> $n, PREPARE each on a
# database holding the PostgreSQL schema (src/store/migrations/pg/*.sql loaded with psql).
# Usage: python3 prepare_all.py [REPO_DIR]   (default: this checkout)
#   env PGHOST (socket dir, default /tmp/pg-spike/sock), PGUSER (postgres), PGDATABASE (mig).
# Statements built from ${} templates are prepared in each of their forms listed in TEMPLATES below.
# Exit status 1 when any statement fails to prepare.
import re, glob, subprocess, collections, os, sys
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..'))
env = dict(os.environ)
env.setdefault('PGHOST', '/tmp/pg-spike/sock'); env.setdefault('PGUSER', 'postgres'); env.setdefault('PGDATABASE', 'mig')
files = sorted(glob.glob(os.path.join(repo, 'src/**/*.ts'), recursive=True))
pat = re.compile(r"(?:\bsql\(\s*[\w.]+,\s*|\.prepare\(\s*)(?:\n\s*)?(['`\"])(.*?)(?<!\\)\1", re.S)
# The forms each interpolated statement takes (the ${...} part, by file): every branch of the template.
TEMPLATES = {
    # queryAudit: the template holds nested backticks, so the regex sees only its start; its forms in full.
    'src/store/admin.ts': lambda t: [
        f'SELECT * FROM audit_log{w} ORDER BY at DESC, id DESC LIMIT @limit'
        for w in ['', ' WHERE target = @target', ' WHERE actor = @actor', ' WHERE at >= @since',
                  " WHERE target = @target AND actor || '' = @actor AND at >= @since"]
    ] if t.startswith('SELECT * FROM audit_log${') else [],
    'src/store/orgs.ts': lambda t: [
        re.sub(r"\$\{orgId === undefined \? '' : '(.*?)'\}", r, t, flags=re.S)
        for r in ['', r'\1']
    ],
}
# Statements known to be SQLite's own, that need a dialect branch (docs/postgres-plan.md, "PostgreSQL
# dialect"): reported apart, not counted as failures.
SQLITE_ONLY = {"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"}
stmts = []
for f in files:
    rel = os.path.relpath(f, repo)
    for m in pat.finditer(open(f).read()):
        t = m.group(2)
        if m.group(1) == '"': t = t.replace("\\'", "'")
        if '${' in t:
            forms = TEMPLATES.get(rel, lambda t: [])(t)
            forms = [x for x in forms if '${' not in x]
            if not forms: stmts.append((rel, t, 'template-interpolated, no forms known')); continue
            stmts += [(rel, x, None) for x in forms]
            continue
        stmts.append((rel, t, None))
def translate(t):
    names = {}; n = [0]
    def rep(m):
        tok = m.group(0)
        if tok == '?': n[0] += 1; return f'${n[0]}'
        if tok not in names: n[0] += 1; names[tok] = n[0]
        return f'${names[tok]}'
    return re.sub(r"\?|(?<![\w@])@[a-zA-Z_]\w*", rep, t)
res = collections.Counter(); errors = []
for i, (f, t, flag) in enumerate(stmts):
    if flag: res[flag] += 1; errors.append((f, flag, t[:100].replace('\n', ' '))); continue
    if t.strip() in SQLITE_ONLY: res['sqlite-only, known'] += 1; print(' (sqlite-only, known)', f, '|', t.strip()); continue
    q = f"PREPARE s{i} AS {translate(t)}"
    p = subprocess.run(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', q], capture_output=True, text=True, env=env)
    if p.returncode == 0: res['ok'] += 1
    else:
        res['error'] += 1; errors.append((f, p.stderr.strip().split('\n')[0], t.strip()[:160].replace('\n', ' ')))
print('statements found:', len(stmts), dict(res))
for e in errors: print(' -', e[0], '|', e[1], '|', e[2])
sys.exit(1 if errors else 0)
