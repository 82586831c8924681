/**
 * The AWS SDK commands a function's code can send, derived from the code: a call graph from the
 * function's exported handler, built with the TypeScript checker. From each reached function it
 * follows what the body references: functions, methods, variables' initializers, constructors of
 * classes it instantiates, and calls through an interface (a port) to the same member of every
 * class that implements it and is instantiated on the way. Every `new <Name>Command(...)` of an
 * `@aws-sdk` package it meets is a command the function can send (or presign).
 *
 * It over-approximates within a function (every branch counts) and never follows what it cannot
 * see: a value passed in from outside the handler. Each found command names where it was met.
 */
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export interface FoundCommand {
  /** IAM action, e.g. `dynamodb:GetItem`. */
  action: string;
  /** `<package> <Command>` as the code names it. */
  command: string;
  /** Where it was met, relative to the repository. */
  at: string;
}

/** Service prefix of each SDK package. */
const SERVICES: Record<string, string> = {
  'client-s3': 's3',
  's3-request-presigner': 's3',
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-sfn': 'states',
  'client-ecs': 'ecs',
  'client-cloudwatch-logs': 'logs',
  'client-secrets-manager': 'secretsmanager',
  'client-sts': 'sts',
};

/** Where a command's IAM action is not its name: DynamoDB's document client and S3's listing and HEAD. */
const ACTION_OF: Record<string, string> = {
  'lib-dynamodb Get': 'GetItem',
  'lib-dynamodb Put': 'PutItem',
  'lib-dynamodb Update': 'UpdateItem',
  'lib-dynamodb Delete': 'DeleteItem',
  'lib-dynamodb BatchGet': 'BatchGetItem',
  'lib-dynamodb BatchWrite': 'BatchWriteItem',
  'lib-dynamodb TransactWrite': 'TransactWriteItems',
  'lib-dynamodb TransactGet': 'TransactGetItems',
  'client-s3 ListObjectsV2': 'ListBucket',
  'client-s3 ListObjects': 'ListBucket',
  'client-s3 HeadObject': 'GetObject',
};

function sdkPackage(fileName: string): string | undefined {
  return /node_modules\/@aws-sdk\/([^/]+)\//.exec(fileName)?.[1];
}

export class AwsCallGraph {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;

  constructor(private readonly root: string) {
    const configPath = join(root, 'tsconfig.json');
    const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
    this.program = ts.createProgram(parsed.fileNames, parsed.options);
    this.checker = this.program.getTypeChecker();
  }

  /** The commands the export `name` of `entry` (relative to the repository) can send. */
  commands(entry: string, name: string): FoundCommand[] {
    const source = this.program.getSourceFile(join(this.root, entry));
    if (source === undefined) throw new Error(`${entry} is not part of the TypeScript program`);
    const moduleSymbol = this.checker.getSymbolAtLocation(source);
    const exported = moduleSymbol === undefined ? undefined : this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
    if (exported === undefined) throw new Error(`${entry} exports no ${name}`);

    const found = new Map<string, FoundCommand>();
    const visited = new Set<ts.Node>();
    const queue: ts.Node[] = [];
    const instantiated = new Set<ts.ClassLikeDeclaration>();
    /** Interface members called, to resolve again as classes are instantiated. */
    const portCalls = new Set<ts.Declaration>();
    /** Functions an object literal gives for an interface member: they run only when that member is called. */
    const deferred = new Map<ts.Declaration, ts.Node[]>();
    const enqueue = (node: ts.Node | undefined): void => {
      if (node !== undefined && !visited.has(node)) {
        visited.add(node);
        queue.push(node);
      }
    };
    const ours = (node: ts.Node): boolean => {
      const file = node.getSourceFile().fileName;
      return !file.includes('/node_modules/') && file.startsWith(this.root);
    };
    const instantiate = (cls: ts.ClassLikeDeclaration): void => {
      if (instantiated.has(cls)) return;
      instantiated.add(cls);
      for (const member of cls.members) {
        // Constructors and field initializers run when the class is built.
        if (ts.isConstructorDeclaration(member) || (ts.isPropertyDeclaration(member) && member.initializer !== undefined)) enqueue(member);
      }
      const base = cls.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
      if (base !== undefined) this.declarations(base.expression).filter(ts.isClassLike).forEach(instantiate);
      for (const call of portCalls) resolvePort(call);
    };
    /** A call through an interface member reaches that member of each instantiated class implementing it. */
    const resolvePort = (member: ts.Declaration): void => {
      for (const implementation of deferred.get(member) ?? []) enqueue(implementation);
      const port = member.parent;
      if (!ts.isInterfaceDeclaration(port)) return;
      const memberName = (member as ts.NamedDeclaration).name?.getText();
      for (const cls of instantiated) {
        const implemented = cls.heritageClauses
          ?.filter((h) => h.token === ts.SyntaxKind.ImplementsKeyword)
          .flatMap((h) => h.types.flatMap((t) => this.declarations(t.expression)));
        if (implemented?.includes(port) !== true) continue;
        for (const m of cls.members) if (m.name?.getText() === memberName) enqueue(m);
      }
    };

    for (const declaration of this.declarationsOf(exported)) enqueue(declaration);
    while (queue.length > 0) {
      const node = queue.shift() as ts.Node;
      const walk = (n: ts.Node): void => {
        const member = this.literalMember(n);
        if (member !== undefined && ours(member)) {
          deferred.set(member, [...(deferred.get(member) ?? []), n]);
          if (portCalls.has(member)) enqueue(n);
          return;
        }
        if (ts.isNewExpression(n)) {
          for (const declaration of this.declarations(n.expression)) {
            const pkg = sdkPackage(declaration.getSourceFile().fileName);
            const commandName = ts.isClassLike(declaration) ? declaration.name?.text : undefined;
            if (pkg !== undefined && commandName?.endsWith('Command') === true) {
              const service = SERVICES[pkg];
              if (service === undefined) throw new Error(`no IAM service known for @aws-sdk/${pkg}`);
              const bare = commandName.slice(0, -'Command'.length);
              const action = `${service}:${ACTION_OF[`${pkg} ${bare}`] ?? bare}`;
              const where = n.getSourceFile();
              const at = `${relative(this.root, where.fileName)}:${where.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
              if (!found.has(action)) found.set(action, { action, command: `@aws-sdk/${pkg} ${commandName}`, at });
            } else if (ts.isClassLike(declaration) && ours(declaration)) instantiate(declaration);
          }
        }
        if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) {
          for (const declaration of this.declarations(n)) {
            if (!ours(declaration) || declaration === node) continue;
            if (ts.isMethodSignature(declaration) || ts.isPropertySignature(declaration)) {
              portCalls.add(declaration);
              resolvePort(declaration);
            } else if (
              ts.isFunctionDeclaration(declaration) ||
              ts.isMethodDeclaration(declaration) ||
              ts.isGetAccessorDeclaration(declaration) ||
              ts.isVariableDeclaration(declaration) ||
              ts.isPropertyDeclaration(declaration) ||
              ts.isPropertyAssignment(declaration)
            ) {
              enqueue(declaration);
            }
          }
        }
        ts.forEachChild(n, walk);
      };
      ts.forEachChild(node, walk);
    }
    return [...found.values()].sort((a, b) => a.action.localeCompare(b.action));
  }

  /**
   * The interface member an object literal's function property implements (`{ stop: (id) => ... }`
   * where an interface is expected), if `n` is one.
   */
  private literalMember(n: ts.Node): ts.Declaration | undefined {
    const fn = ts.isPropertyAssignment(n) ? n.initializer : ts.isMethodDeclaration(n) ? n : undefined;
    if (fn === undefined || !(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn) || ts.isMethodDeclaration(fn))) return undefined;
    if (!ts.isObjectLiteralExpression(n.parent)) return undefined;
    const name = (n as ts.PropertyAssignment | ts.MethodDeclaration).name.getText();
    const property = this.checker.getContextualType(n.parent)?.getProperty(name);
    return property?.declarations?.find((d) => (ts.isPropertySignature(d) || ts.isMethodSignature(d)) && ts.isInterfaceDeclaration(d.parent));
  }

  private declarationsOf(symbol: ts.Symbol): ts.Declaration[] {
    const target = symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
    return target.declarations ?? [];
  }

  private declarations(node: ts.Node): ts.Declaration[] {
    const symbol = this.checker.getSymbolAtLocation(node);
    return symbol === undefined ? [] : this.declarationsOf(symbol);
  }
}
