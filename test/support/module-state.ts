import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * Module-level state in src/ (issue 14: "no module-level mutable state
 * anywhere in the product"): what a module holds outside any instance is
 * shared by every proxy, site, test and worker that loads it, and outlives
 * them. Found from the syntax of each module's top level:
 *
 * - a `let` or `var` declaration;
 * - a `const` whose value is a `new` object (Map, Set, WeakMap, a typed
 *   array, a class instance: a singleton), unless its declared type is
 *   ReadonlyMap / ReadonlySet / ReadonlyArray (the compiler then refuses
 *   every write, so it is a constant);
 * - a `const` that is an empty array or object literal (something to fill);
 * - a class `static` field that is not `readonly`, or whose value is one of the above.
 */
export interface StateFinding {
  /** Path under src/, with forward slashes. */
  file: string;
  name: string;
  line: number;
  what: string;
}

const READONLY_TYPES = /^(ReadonlyMap|ReadonlySet|ReadonlyArray|readonly )/;

/** The value under casts and parentheses; for `new X(...).fill(...)`-style chains, the `new` at their root. */
function unwrap(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e)) e = e.expression;
    else if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && ts.isNewExpression(unwrap(e.expression.expression))) e = e.expression.expression;
    else return e;
  }
}

/** Why `init` makes state, or undefined for a value that is not. */
function stateful(init: ts.Expression | undefined, type: ts.TypeNode | undefined, src: ts.SourceFile): string | undefined {
  if (init === undefined) return undefined;
  const e = unwrap(init);
  if (type !== undefined && READONLY_TYPES.test(type.getText(src))) return undefined;
  if (ts.isNewExpression(e)) return `new ${e.expression.getText(src)}`;
  if (ts.isArrayLiteralExpression(e) && e.elements.length === 0) return 'an empty array';
  if (ts.isObjectLiteralExpression(e) && e.properties.length === 0) return 'an empty object';
  return undefined;
}

/** The findings in one module's text; `rel` names it in them. */
export function moduleStateOf(text: string, rel = 'x.ts'): StateFinding[] {
  const src = ts.createSourceFile(rel, text, ts.ScriptTarget.ES2022, true);
  const out: StateFinding[] = [];
  const at = (n: ts.Node): number => src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1;
  for (const st of src.statements) {
    if (ts.isVariableStatement(st)) {
      const flags = st.declarationList.flags;
      const isConst = (flags & ts.NodeFlags.Const) !== 0;
      for (const d of st.declarationList.declarations) {
        const name = d.name.getText(src);
        if (!isConst) out.push({ file: rel, name, line: at(d), what: (flags & ts.NodeFlags.Let) !== 0 ? 'a module-level let' : 'a module-level var' });
        else {
          const why = stateful(d.initializer, d.type, src);
          if (why) out.push({ file: rel, name, line: at(d), what: `a module-level const holding ${why}` });
        }
      }
    } else if (ts.isClassDeclaration(st)) {
      for (const m of st.members) {
        if (!ts.isPropertyDeclaration(m) || !m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue;
        const name = `${st.name?.getText(src) ?? '(class)'}.${m.name.getText(src)}`;
        const readonly = m.modifiers.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword);
        const why = stateful(m.initializer, m.type, src);
        if (!readonly) out.push({ file: rel, name, line: at(m), what: 'a static field that is not readonly' });
        else if (why) out.push({ file: rel, name, line: at(m), what: `a static field holding ${why}` });
      }
    }
  }
  return out;
}

/** Every finding in the TypeScript modules under `srcDir` (sorted by file and line). */
export function moduleState(srcDir: string): StateFinding[] {
  const out: StateFinding[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|cts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(...moduleStateOf(readFileSync(p, 'utf8'), relative(srcDir, p).split(sep).join('/')));
    }
  };
  walk(srcDir);
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}
