// What each package's packaging test reads: its package.json and its built dist, as a host installing the
// package gets them. Shared by packages/*/src/packaging.test.ts; the test task builds dist first (turbo.json).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The fields of a package.json the packaging tests read. */
export interface PackageJson {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  /** The commands the package installs, by name: `{ "byokit": "./dist/cli.js" }`. */
  bin?: Record<string, string>;
}

export function readPackageJson(packageDir: string): PackageJson {
  return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageJson;
}

/** The specifiers a host imports the package by: `@byokit/core`, `@byokit/core/node`, … (not `./package.json`). */
export function entrySpecifiers(manifest: PackageJson): string[] {
  return Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`));
}

/**
 * `require()`s each specifier in a CommonJS Node process started in `packageDir`, as a host's CommonJS code would,
 * and returns what each gave: `'loaded'`, or the error's code and first line; and `warnings`, the process warnings
 * it printed meanwhile, if any.
 */
export function requireInCommonJs(packageDir: string, specifiers: readonly string[]): Record<string, string | string[]> {
  const script = `
    const outcomes = {};
    const warnings = [];
    process.on('warning', (warning) => warnings.push(warning.name + ': ' + String(warning.message).split('\\n')[0]));
    for (const specifier of ${JSON.stringify(specifiers)}) {
      try { require(specifier); outcomes[specifier] = 'loaded'; }
      catch (error) { outcomes[specifier] = (error.code ?? error.name) + ': ' + String(error.message).split('\\n')[0]; }
    }
    // A warning is emitted on a later tick (an ExperimentalWarning for require() of an ES module, on some Node).
    setImmediate(() => process.stdout.write(JSON.stringify(warnings.length ? { ...outcomes, warnings } : outcomes)));`;
  const run = spawnSync(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: packageDir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node exited with ${String(run.status)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string | string[]>;
}

/**
 * What importing every entry point does in a Node process of its own, started in `packageDir`: the environment
 * variables it reads that importing the packages its `dist` imports does not read (its dependencies read their own:
 * undici's `UNDICI_NO_FG`, pg's defaults), and what it leaves running (timers, sockets, handles) a turn later.
 */
export function whatImportingDoes(packageDir: string, manifest: PackageJson): { readsOfItsOwn: string[]; leftRunning: string[] } {
  const dependencies = new Set<string>();
  for (const file of distFiles(packageDir, ['.js']))
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles)
      if (!fileName.startsWith('.') && !fileName.startsWith('node:') && !fileName.startsWith(manifest.name)) dependencies.add(fileName);
  // A dependency that is not installed (an optional peer) reads nothing in either run; an entry point that does not
  // load ran none of its code, and must fail rather than pass as reading nothing.
  const script = (specifiers: readonly string[], missingAllowed: boolean) => `
    void process.stdout, process.stderr; // the pipes to this test: opened before, as its own
    const before = process.getActiveResourcesInfo();
    const read = new Set();
    const note = (key) => { if (typeof key === 'string') read.add(key); };
    process.env = new Proxy(process.env, {
      get: (target, key) => (note(key), Reflect.get(target, key)),
      has: (target, key) => (note(key), Reflect.has(target, key)),
      getOwnPropertyDescriptor: (target, key) => (note(key), Reflect.getOwnPropertyDescriptor(target, key)),
    });
    for (const specifier of ${JSON.stringify(specifiers)}) {
      try { await import(specifier); } catch (error) { if (!${missingAllowed} || error.code !== 'ERR_MODULE_NOT_FOUND') throw error; }
    }
    await new Promise((resolve) => setImmediate(resolve));
    const running = process.getActiveResourcesInfo();
    for (const resource of before) if (running.includes(resource)) running.splice(running.indexOf(resource), 1);
    process.stdout.write(JSON.stringify({ read: [...read], running }), () => process.exit(0));`;
  const run = (specifiers: readonly string[], missingAllowed: boolean) => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script(specifiers, missingAllowed)], {
      cwd: packageDir,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (child.status !== 0) throw new Error(`node exited with ${String(child.status)}: ${child.stderr}`);
    return JSON.parse(child.stdout) as { read: string[]; running: string[] };
  };
  const theirs = new Set(run([...dependencies], true).read);
  const ours = run(entrySpecifiers(manifest), false);
  return { readsOfItsOwn: ours.read.filter((name) => !theirs.has(name)).sort(), leftRunning: ours.running };
}

/**
 * The first line each command of the package's `bin` prints for `--help`, run as a host's shell runs it (Node on the
 * installed file), by the command's name.
 */
export function binHelpFirstLines(packageDir: string, manifest: PackageJson): Record<string, string> {
  return Object.fromEntries(
    Object.entries(manifest.bin ?? {}).map(([name, file]) => {
      const run = spawnSync(process.execPath, [join(packageDir, file), '--help'], { encoding: 'utf8', timeout: 30_000 });
      if (run.status !== 0) throw new Error(`${name} --help exited with ${String(run.status)}: ${run.stderr}`);
      return [name, run.stdout.split('\n')[0]!];
    }),
  );
}

/** Every file under `dist` whose name ends with one of `endings`. */
export function distFiles(packageDir: string, endings: readonly string[]): string[] {
  const dist = join(packageDir, 'dist');
  return readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((file) => endings.some((ending) => file.endsWith(ending)))
    .map((file) => join(dist, file));
}

/** The packages `files` import (`import`, `export … from`, `import()`, `require()`), by name; `node:` built-ins left out. */
export function importedPackages(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    // TypeScript's own scan: it skips comments and strings, so an example in a doc comment is not an import.
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('.') || fileName.startsWith('node:')) continue;
      const parts = fileName.split('/');
      names.add(fileName.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return names;
}

/** What dist imports at run time that is neither a dependency nor a peer dependency: a host installing the package lacks it. */
export function undeclaredRuntimeImports(packageDir: string, manifest: PackageJson): string[] {
  const declared = { ...manifest.dependencies, ...manifest.peerDependencies };
  return [...importedPackages(distFiles(packageDir, ['.js']))].filter((name) => name !== manifest.name && !(name in declared));
}

/**
 * What the type declarations import whose types a host's type check would lack: a package that is neither a
 * dependency nor a peer, or a dependency (installed with this package, so the host never chose it) that has no
 * types of its own and whose `@types` package is not a dependency too, or an optional peer. A peer's types are the
 * host's to have, as it has the peer; a host may lack an optional peer altogether.
 */
export function typesAHostLacks(packageDir: string, manifest: PackageJson): string[] {
  const dependencies = manifest.dependencies ?? {};
  const peers = manifest.peerDependencies ?? {};
  const lacking: string[] = [];
  for (const name of importedPackages(distFiles(packageDir, ['.d.ts']))) {
    if (name === manifest.name) continue;
    // An optional peer may not be installed at all: declarations that import it fail a host without it.
    if (manifest.peerDependenciesMeta?.[name]?.optional === true) lacking.push(`${name} (an optional peer)`);
    if (name in peers) continue;
    if (!(name in dependencies)) lacking.push(name);
    else if (!shipsOwnTypes(packageDir, name) && !(typesPackage(name) in dependencies)) lacking.push(typesPackage(name));
  }
  return lacking;
}

/**
 * The `@types` packages among the dependencies that no type declaration of the package imports from: installed into
 * every host for nothing (a second copy beside the host's own release of them), where a dev dependency would do.
 */
export function unneededTypesDependencies(packageDir: string, manifest: PackageJson): string[] {
  const imported = new Set([...importedPackages(distFiles(packageDir, ['.d.ts']))].map(typesPackage));
  return Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@types/') && !imported.has(name));
}

/** DefinitelyTyped's name for a package's types: `@types/pg`, `@types/scope__name`. */
function typesPackage(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}

/** Whether the installed package `name` (resolved from `packageDir`) ships its own type declarations. */
function shipsOwnTypes(packageDir: string, name: string): boolean {
  let folder = resolve(packageDir);
  while (!existsSync(join(folder, 'node_modules', name, 'package.json'))) {
    if (dirname(folder) === folder) throw new Error(`${name} is not installed where ${packageDir} would find it`);
    folder = dirname(folder);
  }
  const installed = join(folder, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    types?: string;
    typings?: string;
    exports?: unknown;
  };
  return (
    manifest.types !== undefined ||
    manifest.typings !== undefined ||
    JSON.stringify(manifest.exports ?? {}).includes('"types"') ||
    existsSync(join(installed, 'index.d.ts'))
  );
}

/**
 * What the package's README imports from byokit's packages in its code examples: each name (not `type` ones), by
 * the specifier it is imported from.
 */
export function readmeImports(packageDir: string): Record<string, string[]> {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const imports: Record<string, string[]> = {};
  for (const [, names, specifier] of readme.matchAll(/^import\s+\{([^}]*)\}\s+from\s+'(@byokit\/[^']+)'/gm)) {
    for (const name of names!.split(',').map((entry) => entry.trim())) {
      if (name === '' || name.startsWith('type ')) continue;
      (imports[specifier!] ??= []).push(name.split(/\s+as\s+/)[0]!);
    }
  }
  return imports;
}

/** The names each specifier's module exports, imported in an ES module Node process started in `packageDir`, as a host would. */
export function exportedNames(packageDir: string, specifiers: readonly string[]): Record<string, string[]> {
  const script = `
    const names = {};
    for (const specifier of ${JSON.stringify(specifiers)}) names[specifier] = Object.keys(await import(specifier)).sort();
    process.stdout.write(JSON.stringify(names));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node exited with ${String(run.status)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string[]>;
}

/**
 * Each entry point's public names, by specifier, sorted: each name its module exports at run time, imported as a host
 * would, and `type Name` for each its declarations export for types only. A name the declarations give as a value
 * but the module lacks, or the reverse, is marked so (`name (no declaration)`, `name (declared, not exported)`).
 */
export function publicNames(packageDir: string, manifest: PackageJson): Record<string, string[]> {
  const specifiers = entrySpecifiers(manifest);
  const atRunTime = exportedNames(packageDir, specifiers);
  const { program } = declarationsProgram(packageDir, manifest);
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    specifiers.map((specifier) => {
      const target = manifest.exports[specifier === manifest.name ? '.' : `.${specifier.slice(manifest.name.length)}`];
      const types = typeof target === 'string' ? undefined : target?.['types'];
      const declarations = types === undefined ? undefined : program.getSourceFile(join(resolve(packageDir), types));
      const values = new Set(atRunTime[specifier]);
      const names = new Set<string>(declarations === undefined ? ['(no type declarations)'] : []);
      const module = declarations && checker.getSymbolAtLocation(declarations);
      for (const exported of module ? checker.getExportsOfModule(module) : []) {
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        if (values.delete(exported.name)) names.add(exported.name);
        else names.add(symbol.flags & ts.SymbolFlags.Value ? `${exported.name} (declared, not exported)` : `type ${exported.name}`);
      }
      for (const value of values) names.add(`${value} (no declaration)`);
      return [specifier, [...names].sort()];
    }),
  );
}

/** The files `npm pack` puts in the package's tarball, as paths inside it (`dist/index.js`, …). */
export function packedFiles(packageDir: string): string[] {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`npm pack exited with ${String(run.status)}: ${run.stderr}`);
  const [packed] = JSON.parse(run.stdout) as [{ files: { path: string }[] }];
  return packed.files.map((file) => file.path).sort();
}

/** How a host's TypeScript project reads byokit's declarations: ESM on Node, strict. */
export const AS_A_HOST_COMPILES: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

// One program per package: several checks read the same built declarations, and each program costs seconds.
const declarationsPrograms = new Map<string, { entries: string[]; program: ts.Program }>();

/** The type declarations of each entry point (`exports[…].types`), and a program of them and what they import. */
function declarationsProgram(packageDir: string, manifest: PackageJson): { entries: string[]; program: ts.Program } {
  const cached = declarationsPrograms.get(resolve(packageDir));
  if (cached) return cached;
  const entries = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
    subpath === './package.json' || typeof target === 'string' || target['types'] === undefined
      ? []
      : [join(resolve(packageDir), target['types'])],
  );
  const program = ts.createProgram(entries, AS_A_HOST_COMPILES);
  declarationsPrograms.set(resolve(packageDir), { entries, program });
  return { entries, program };
}

/**
 * What a host's editor would show without a word of explanation: each export of each entry point's type declarations
 * (`exports[…].types`) that has no TSDoc comment, and each member of an exported interface, class or object type (an
 * option, a field, a method, a variant's field, a field of a field's object type written in place) that has none, by
 * the name an editor shows (`ByokitOptions.storage`, `ByokitOptions.keyCache.ttlMs`). Read from the built `.d.ts`, as
 * the editor reads it; each overload of a function counts on its own, since an editor shows the comment of the
 * overload a call resolves to.
 */
export function undocumentedDeclarations(packageDir: string, manifest: PackageJson): string[] {
  const { entries, program } = declarationsProgram(packageDir, manifest);
  const checker = program.getTypeChecker();
  const undocumented = new Set<string>();
  const documented = (node: ts.Node) => ts.getJSDocCommentsAndTags(node).length > 0;
  const memberName = (member: ts.ClassElement | ts.TypeElement) =>
    member.name === undefined ? (ts.isConstructorDeclaration(member) ? 'constructor' : '[signature]') : member.name.getText();
  // The members of an object type, and of each object type in a union or intersection (a variant's fields).
  const checkMembers = (owner: string, node: ts.Node | undefined): void => {
    if (node === undefined) return;
    if (ts.isParenthesizedTypeNode(node)) return checkMembers(owner, node.type);
    if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) return node.types.forEach((type) => checkMembers(owner, type));
    if (!ts.isTypeLiteralNode(node) && !ts.isInterfaceDeclaration(node) && !ts.isClassDeclaration(node)) return;
    for (const member of node.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
      // Private members (`#private`, `private constructor()`) are not part of what a host can use.
      if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) continue;
      if (ts.canHaveModifiers(member) && ts.getModifiers(member)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) continue;
      if (!documented(member)) undocumented.add(`${owner}.${memberName(member)}`);
      // A field whose type is written out in place (`keyCache?: { ttlMs?: number }`) has fields a host writes too.
      if (ts.isPropertySignature(member) || ts.isPropertyDeclaration(member)) checkMembers(`${owner}.${memberName(member)}`, member.type);
    }
  };
  for (const entry of entries) {
    const relative = entry.slice(join(resolve(packageDir), 'dist').length + 1);
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = `${relative}: ${exported.name}`;
      for (const declaration of target.declarations ?? []) {
        const commented = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
        if (!documented(commented)) undocumented.add(name);
        if (ts.isTypeAliasDeclaration(declaration)) checkMembers(name, declaration.type);
        else checkMembers(name, declaration);
      }
    }
  }
  return [...undocumented];
}

/**
 * The types of the package's own that a host meets in its declarations but cannot import by name from any entry
 * point: a parameter's, a return's or a field's type, of an export or of such a type in turn, which the host could
 * write only as `Parameters<typeof x>[0]`. Each as `Name (in Export)`, the export it is first met in. A type written
 * with `typeof` a value (a schema's `z.infer`) is named by the export it is written for, and not counted.
 */
export function unnamedTypes(packageDir: string, manifest: PackageJson): string[] {
  const { entries, program } = declarationsProgram(packageDir, manifest);
  const checker = program.getTypeChecker();
  const dist = join(resolve(packageDir), 'dist');
  const resolved = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exports = entries.flatMap((entry) => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!));
  const named = new Set(exports.map(resolved));
  const unnamed = new Map<ts.Symbol, string>();
  const visit = (node: ts.Node, exported: string): void => {
    // A private member (`#private`, `private constructor()`) is not what a host meets.
    if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) return;
    const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isExpressionWithTypeArguments(node) ? node.expression : undefined;
    const found = name && checker.getSymbolAtLocation(name);
    if (found) {
      const symbol = resolved(found);
      const declarations = symbol.declarations ?? [];
      const own = declarations.some((declaration) => declaration.getSourceFile().fileName.startsWith(`${dist}/`));
      if (own && !(symbol.flags & ts.SymbolFlags.TypeParameter) && !named.has(symbol) && !unnamed.has(symbol)) {
        unnamed.set(symbol, `${symbol.name} (in ${exported})`);
        for (const declaration of declarations) ts.forEachChild(declaration, (child) => visit(child, exported));
      }
    }
    ts.forEachChild(node, (child) => visit(child, exported));
  };
  for (const exported of exports) {
    for (const declaration of resolved(exported).declarations ?? []) ts.forEachChild(declaration, (child) => visit(child, exported.name));
  }
  return [...unnamed.values()].sort();
}

/**
 * Each source file (`*.ts`, not a `.d.ts`) named in the doc comments of the type declarations the entry points reach,
 * as `file: name`: the package ships no source, so a host's editor can open none of them. Code in a ```ts fence is
 * not prose, and is left out.
 */
export function sourceFilesInDocs(packageDir: string, manifest: PackageJson): string[] {
  const { program } = declarationsProgram(packageDir, manifest);
  const dist = join(resolve(packageDir), 'dist');
  const named: string[] = [];
  for (const source of program.getSourceFiles().filter((file) => file.fileName.startsWith(`${dist}/`))) {
    for (const [comment] of source.text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
      const prose = comment.replace(/```[\s\S]*?```/g, '');
      for (const [name] of prose.matchAll(/[\w./-]+(?<!\.d)\.ts\b/g)) named.push(`${relative(dist, source.fileName)}: ${name}`);
    }
  }
  return named;
}

/**
 * Each declaration in the type declarations the entry points reach that its doc comment marks `@internal`, as
 * `file: Owner.name`: byokit's own, yet in a host's editor and callable from its code as if it were public.
 */
export function internalDeclarations(packageDir: string, manifest: PackageJson): string[] {
  const { program } = declarationsProgram(packageDir, manifest);
  // The checker binds the files: a node's doc comment is found through its parents, which binding sets.
  program.getTypeChecker();
  const dist = join(resolve(packageDir), 'dist');
  const internal: string[] = [];
  for (const source of program.getSourceFiles().filter((file) => file.fileName.startsWith(`${dist}/`))) {
    const visit = (node: ts.Node, owner: string): void => {
      const name = ts.isVariableStatement(node)
        ? node.declarationList.declarations[0]!.name.getText(source)
        : ts.getNameOfDeclaration(node as ts.Declaration)?.getText(source);
      const here = name === undefined ? owner : owner === '' ? name : `${owner}.${name}`;
      if (ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal'))
        internal.push(`${relative(dist, source.fileName)}: ${here}`);
      ts.forEachChild(node, (child) => visit(child, here));
    };
    visit(source, '');
  }
  return internal;
}

/**
 * Each `{@link Name}` in the doc comments of the declarations the entry points reach that names nothing the editor
 * can open (a function the package keeps to itself, or one renamed since), as `file: Name`.
 */
export function danglingDocLinks(packageDir: string, manifest: PackageJson): string[] {
  const { program } = declarationsProgram(packageDir, manifest);
  const checker = program.getTypeChecker();
  const dist = join(resolve(packageDir), 'dist');
  const dangling: string[] = [];
  for (const source of program.getSourceFiles().filter((file) => file.fileName.startsWith(`${dist}/`))) {
    const visit = (node: ts.Node): void => {
      if ((ts.isJSDocLink(node) || ts.isJSDocLinkCode(node) || ts.isJSDocLinkPlain(node)) && node.name !== undefined) {
        if (checker.getSymbolAtLocation(node.name) === undefined)
          dangling.push(`${relative(dist, source.fileName)}: ${node.name.getText(source)}`);
      }
      ts.forEachChild(node, visit);
      // A node's doc comments are not among its children.
      for (const doc of (node as { jsDoc?: ts.Node[] }).jsDoc ?? []) visit(doc);
    };
    visit(source);
  }
  return dangling;
}

/**
 * What a host compiled with `exactOptionalPropertyTypes` could not leave unset by passing `undefined` (a
 * configuration object's unset field, `logger: config.logger`), though byokit takes `undefined` as not given: each
 * optional field, at any depth, of what the host passes in, whose type does not take `undefined`, by the name an
 * editor shows (`ByokitOptions.logger`). What the host passes in: the parameters of each exported function (or
 * constant holding one, as Fastify's plugin) and class constructor, and of the methods of each object type named
 * in `calledObjects` (`Byokit`). Callbacks, classes and the interfaces a host implements (`Storage`, `Logger`) hold
 * methods, not fields: byokit passes their arguments, not the host.
 */
export function optionsRefusingUndefined(packageDir: string, manifest: PackageJson, calledObjects: readonly string[] = []): string[] {
  const { entries } = declarationsProgram(packageDir, manifest);
  const program = ts.createProgram(entries, { ...AS_A_HOST_COMPILES, exactOptionalPropertyTypes: true });
  const checker = program.getTypeChecker();
  const refusing = new Set<string>();
  const visited = new Set<ts.Type>();
  // Under exactOptionalPropertyTypes an optional field's type holds a "missing" type, flagged as undefined too but
  // not `undefined` itself: only a field whose type holds `undefined` itself takes it.
  const takesUndefined = (type: ts.Type) =>
    (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0 || (type.isUnion() && type.types.includes(checker.getUndefinedType()));
  const checkFields = (owner: string, type: ts.Type): void => {
    if (visited.has(type)) return;
    visited.add(type);
    if (type.isUnion()) return type.types.forEach((member) => checkFields(owner, member));
    if ((type.flags & ts.TypeFlags.Object) === 0 && !type.isIntersection()) return;
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) return;
    for (const field of checker.getPropertiesOfType(type)) {
      const declaration = field.valueDeclaration ?? field.declarations?.[0];
      // A method, or a member of a class or of a dependency's type (pg's, Node's), is not a setting of byokit's.
      if (declaration !== undefined && !ts.isPropertySignature(declaration)) continue;
      if (declaration?.getSourceFile().fileName.includes('/node_modules/')) continue;
      const symbol = type.getSymbol();
      const name = `${symbol && symbol.flags & ts.SymbolFlags.Interface ? symbol.name : owner}.${field.name}`;
      const fieldType = checker.getTypeOfSymbol(field);
      if ((field.flags & ts.SymbolFlags.Optional) !== 0 && !takesUndefined(fieldType)) refusing.add(name);
      checkFields(name, checker.getNonNullableType(fieldType));
    }
  };
  const checkParameters = (owner: string, signature: ts.Signature): void => {
    for (const parameter of signature.getParameters()) {
      const declaration = parameter.valueDeclaration;
      if (declaration !== undefined) checkFields(`${owner}(${parameter.name})`, checker.getTypeOfSymbolAtLocation(parameter, declaration));
    }
  };
  for (const entry of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
        for (const signature of checker.getTypeOfSymbol(target).getCallSignatures()) checkParameters(exported.name, signature);
      } else if (target.flags & ts.SymbolFlags.Class) {
        for (const signature of checker.getTypeOfSymbol(target).getConstructSignatures()) checkParameters(exported.name, signature);
      } else if (calledObjects.includes(exported.name)) {
        const methods = (type: ts.Type, owner: string): void => {
          for (const member of checker.getPropertiesOfType(type)) {
            const memberType = checker.getTypeOfSymbol(member);
            for (const signature of memberType.getCallSignatures()) checkParameters(`${owner}.${member.name}`, signature);
            if (memberType.getCallSignatures().length === 0) methods(memberType, `${owner}.${member.name}`);
          }
        };
        methods(checker.getDeclaredTypeOfSymbol(target), exported.name);
      }
    }
  }
  return [...refusing].sort();
}

/**
 * The names a README's examples use for what the host has already (its auth, its pool, its other routes), declared
 * with the type the example expects them to have, for an example that uses them without declaring them itself.
 */
const README_PLACEHOLDERS: Record<string, (example: string) => string> = {
  yourSession: () => `declare function yourSession(request: unknown): Promise<import('@byokit/core').Principal | null>;`,
  yourOtherRoutes: () =>
    `declare function yourOtherRoutes(request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse): void;`,
  storage: () => `declare const storage: import('@byokit/core').Storage;`,
  pool: () => `declare const pool: import('pg').Pool;`,
  byokit: () => `declare const byokit: import('@byokit/core').Byokit;`,
  keyring: () => `declare const keyring: import('@byokit/core').Keyring;`,
  authenticate: () => `declare function authenticate(request: Request): Promise<import('@byokit/core').Principal | null>;`,
  accessToken: () => `declare const accessToken: string;`,
  response: () => `declare const response: import('node:http').ServerResponse;`,
  byokitRequest: () => `declare const byokitRequest: import('@byokit/core').ByokitRequest;`,
  myStorage: () => `declare function myStorage(): Promise<import('@byokit/core').Storage>;`,
  googleKey: () => `declare const googleKey: string;`,
  // The examples' `app` is a Fastify app where they register a plugin, else a Hono app (the fetch handler's).
  app: (example) =>
    example.includes('app.register(') ? `declare const app: import('fastify').FastifyInstance;` : `declare const app: import('hono').Hono;`,
  // Bun's and Deno's own `serve`, as far as the examples use them.
  Bun: () => `declare const Bun: { serve(options: { port: number; fetch(request: Request): Promise<Response> }): unknown };`,
  Deno: () => `declare const Deno: { serve(options: { port: number }, handler: (request: Request) => Promise<Response>): unknown };`,
};

/** Modules of the host's own that the README's examples import, as the text beside them describes them. */
const README_HOST_MODULES = `
  // Next.js: \`export const byokitFetch = byokit.fetch;\` in lib/byokit.ts.
  declare module '@/lib/byokit' { export const byokitFetch: import('@byokit/core').Byokit['fetch']; }
`;

/** The names a snippet declares at its top level: its imports, variables, functions and classes. */
function topLevelNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const addBinding = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) addBinding(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) addBinding(declaration.name);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/**
 * Type-checks each TypeScript example (a ```ts block) of the README in `packageDir` (a package's, the repository's
 * or an example's) as a host's ES module would, each on its own, against the built packages it imports (resolved
 * from that folder, as installed), and returns each error: `README.md example 2, line 5: …`. Names the host has
 * already (see README_PLACEHOLDERS) are declared for an example that uses them without declaring them; an example
 * must import what it uses of byokit. Nothing is written to disk.
 */
export function readmeExampleErrors(packageDir: string): string[] {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((match, index) => ({
    label: `README.md example ${index + 1}`,
    text: match[1]!,
  }));
  return exampleErrors(packageDir, examples);
}

/**
 * Type-checks each TypeScript example in the doc comments of the package's built type declarations (a ```ts block,
 * as an editor's hover shows it) as {@link readmeExampleErrors} does a README's, and returns each error:
 * `index.d.ts, createByokit example, line 3: …`.
 */
export function docExampleErrors(packageDir: string, manifest: PackageJson): string[] {
  const examples = new Map<string, { label: string; text: string }>();
  // The declarations the entry points reach, as an editor reads them (not a stale chunk left in dist).
  const dist = join(resolve(packageDir), 'dist');
  const reached = declarationsProgram(packageDir, manifest)
    .program.getSourceFiles()
    .filter((source) => source.fileName.startsWith(`${dist}/`));
  for (const { fileName: file } of reached) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      for (const doc of ts.getJSDocCommentsAndTags(node)) {
        const comment = doc.getText().replace(/^[ \t]*\/?\*+\/?[ ]?/gm, '');
        const fenced = [...comment.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
        // An `@example` without a fence is code all the same: an editor shows it as TypeScript.
        const unfenced = [...comment.matchAll(/^@example[ \t]*\n((?:(?!@\w)[\s\S])*)/gm)]
          .map((match) => match[1]!)
          .filter((text) => !text.includes('```'));
        for (const text of [...fenced, ...unfenced]) {
          const declaration = ts.isVariableStatement(node) ? node.declarationList.declarations[0]! : (node as ts.Declaration);
          const name = ts.getNameOfDeclaration(declaration)?.getText() ?? 'an export';
          // The same declaration bundled into two entry points is one example.
          if (!examples.has(text)) examples.set(text, { label: `${relative(packageDir, file)}, ${name} example`, text });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return exampleErrors(packageDir, [...examples.values()]);
}

/**
 * Type-checks a CommonJS TypeScript file (`.cts`) in `packageDir` that imports every entry point, compiled as a host's
 * CommonJS code is with `"module": "nodenext"`, and returns each error. TypeScript 5.8 and later let such a file
 * `require()` an ES module, as Node 20.19 and later do.
 */
export function commonJsImportErrors(packageDir: string, manifest: PackageJson): string[] {
  const file = join(resolve(packageDir), 'byokit-commonjs-host.cts');
  const text = entrySpecifiers(manifest)
    .map((specifier, index) => `import * as entry${index} from '${specifier}';\nvoid entry${index};`)
    .join('\n');
  const host = ts.createCompilerHost(AS_A_HOST_COMPILES);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, text, language) : getSourceFile.call(host, name, language, ...rest);
  const program = ts.createProgram([file], AS_A_HOST_COMPILES, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
}

/** Type-checks each example as an ES module of its own in `folder`, the host's names it lacks declared for it. */
function exampleErrors(folder: string, examples: ReadonlyArray<{ label: string; text: string }>): string[] {
  const files = new Map<string, { text: string; preludeLines: number; label: string }>();
  examples.forEach(({ label, text: example }, index) => {
    const declared = topLevelNames(ts.createSourceFile('example.mts', example, ts.ScriptTarget.ES2022));
    const prelude = Object.entries(README_PLACEHOLDERS)
      .filter(([name]) => !declared.has(name) && new RegExp(`\\b${name}\\b`).test(example))
      .map(([, declaration]) => declaration(example));
    // `export {}` keeps the file a module when an example imports nothing.
    const text = [...prelude, 'export {};', example].join('\n');
    files.set(join(resolve(folder), `byokit-example-${index + 1}.mts`), { text, preludeLines: prelude.length + 1, label });
  });
  files.set(join(resolve(folder), 'byokit-example-host-modules.d.ts'), {
    text: README_HOST_MODULES,
    preludeLines: 0,
    label: 'host modules',
  });
  const options: ts.CompilerOptions = { ...AS_A_HOST_COMPILES, types: ['node'] };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.text ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) => {
    const virtual = files.get(file);
    return virtual ? ts.createSourceFile(file, virtual.text, language) : getSourceFile.call(host, file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).flatMap((diagnostic) => {
    const virtual = diagnostic.file && files.get(diagnostic.file.fileName);
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (!virtual) return [message];
    const line = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1 - virtual.preludeLines;
    return [`${virtual.label}, line ${line}: ${message}`];
  });
}
