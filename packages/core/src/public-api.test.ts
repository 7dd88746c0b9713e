import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// What a host reads in its editor: every export of each of core's entry points (package.json `exports`) says
// what it is, as the style guide asks (TSDoc on every export).
const ENTRIES = ['index.ts', 'node/index.ts', 'testing/index.ts', 'testing/mock-providers.ts'].map((entry) =>
  fileURLToPath(new URL(`./${entry}`, import.meta.url)),
);

describe('the public API', () => {
  it('documents every export of every entry point', () => {
    const program = ts.createProgram(ENTRIES, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    for (const entry of ENTRIES) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
      for (const exported of checker.getExportsOfModule(module)) {
        const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        if (target.getDocumentationComment(checker).length === 0 && target.getJsDocTags(checker).length === 0) {
          undocumented.push(`${entry.split('/src/')[1]}: ${exported.name}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  }, 60_000);
});
