/**
 * Functions a reader can hold in one screen: none in the program's layers (tables/, catalog/,
 * config/, components/, index.ts) longer than 80 lines. A longer one splits into named steps.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ROOT } from "../harness";

const LIMIT = 80;
const LAYERS = ["tables", "catalog", "config", "components"];

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? sources(full) : e.name.endsWith(".ts") ? [full] : [];
    });
}

/** Every function of a source text longer than `limit` lines: "file:line name (N lines)". */
export function longFunctions(file: string, text: string, limit = LIMIT): string[] {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
            const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
            const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
            const lines = end - start + 1;
            if (lines > limit) {
                const name = ts.isConstructorDeclaration(node) ? "constructor" : (node as ts.FunctionLikeDeclaration).name?.getText(source) ?? "(anonymous)";
                found.push(`${path.relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`);
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

describe("function length", () => {
    it("finds a long function, a method and a constructor (so an empty result means something)", () => {
        const body = Array.from({ length: 5 }, (_, i) => `    const a${i} = ${i};`).join("\n");
        const text = `function f() {\n${body}\n}\nclass C {\n    constructor() {\n${body}\n    }\n    m() {\n${body}\n    }\n}\nconst g = () => 1;\n`;
        assert.deepEqual(longFunctions(path.join(ROOT, "x.ts"), text, 4), ["x.ts:1 f (7 lines)", "x.ts:9 constructor (7 lines)", "x.ts:16 m (7 lines)"]);
    });

    it(`no function in ${LAYERS.join("/, ")}/ or index.ts is longer than ${LIMIT} lines`, () => {
        const files = [...LAYERS.flatMap((l) => sources(path.join(ROOT, l))), path.join(ROOT, "index.ts")];
        assert.ok(files.length > 20, `only ${files.length} files found`);
        assert.deepEqual(files.flatMap((f) => longFunctions(f, fs.readFileSync(f, "utf8"))), []);
    });
});
