#!/usr/bin/env python3
# File-level dependencies inside one Swift module: which file uses a type another file declares,
# and any loops (the module READMEs promise none). Usage: tools/file_deps.py Sources/<Module>
import re,sys,glob,os
d=sys.argv[1]
files=sorted(glob.glob(d+'/*.swift'))
decl={}
for f in files:
    s=open(f).read()
    for m in re.finditer(r'^(?:public |final |private |fileprivate )*(?:struct|enum|class|protocol|typealias)\s+(\w+)',s,re.M):
        decl[m.group(1)]=os.path.basename(f)
deps={}
for f in files:
    b=os.path.basename(f); s=open(f).read()
    s=re.sub(r'//.*','',s)
    deps[b]=sorted({decl[n] for n in decl if decl[n]!=b and re.search(r'\b'+n+r'\b',s)})
    # extensions of foreign types
for b,ds in deps.items(): print(b,'->',', '.join(ds))
# cycles
import itertools
def reach(a,seen):
    for x in deps.get(a,[]):
        if x not in seen: seen.add(x); reach(x,seen)
    return seen
for a in deps:
    for b in deps[a]:
        if a in reach(b,set()): print('CYCLE',a,b)
