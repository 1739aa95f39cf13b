import * as path from "path";
import * as ts from "typescript";
import { ROOT } from "./harness";

/** Type errors of a plain JavaScript file checked as strict TypeScript would check it (JSDoc types). */
export function strictJsProblems(file: string): string[] {
    const program = ts.createProgram([file], {
        allowJs: true,
        checkJs: true,
        noEmit: true,
        strict: true,
        noUnusedLocals: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
        types: ["node"],
        typeRoots: [path.join(ROOT, "node_modules/@types")],
        skipLibCheck: true,
    });
    return ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file?.fileName === file || !d.file)
        .map((d) => {
            const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : "";
            return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
        });
}
