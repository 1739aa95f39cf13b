/**
 * The house's layers: catalog/ and tables/ at the bottom, config/ above them, components/ above
 * config, index.ts on top. An import never runs upward: a table both config and a component need
 * lives below both.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";

/** Each layer and the layers it may import from (itself included). */
const MAY_IMPORT: Record<string, string[]> = {
    tables: ["tables"],
    catalog: ["catalog", "tables"],
    config: ["config", "catalog", "tables"],
    components: ["components", "config", "catalog", "tables"],
};

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        return e.isDirectory() ? sources(full) : e.name.endsWith(".ts") ? [full] : [];
    });
}

/** The repository folder (layer) each relative import of FILE lands in. */
function importedLayers(file: string, text: string): { spec: string; layer: string }[] {
    return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gm)].map((m) => {
        const target = path.relative(ROOT, path.resolve(path.dirname(file), m[1]));
        return { spec: m[1], layer: target.split(path.sep)[0] };
    });
}

describe("layers", () => {
    it("finds the imports it judges (so an empty result means something)", () => {
        const file = path.join(ROOT, "components", "example.ts");
        assert.deepEqual(importedLayers(file, 'import { a } from "../config/gpu";\nimport * as b from "./podSecurity";\nexport { c } from "../index";\nimport * as k8s from "@pulumi/kubernetes";\n'), [
            { spec: "../config/gpu", layer: "config" },
            { spec: "./podSecurity", layer: "components" },
            { spec: "../index", layer: "index" },
        ]);
    });

    for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
        it(`${layer}/ imports only from ${allowed.join(", ")}`, () => {
            const upward: string[] = [];
            for (const file of sources(path.join(ROOT, layer))) {
                for (const { spec, layer: target } of importedLayers(file, fs.readFileSync(file, "utf8"))) {
                    if (!allowed.includes(target)) upward.push(`${path.relative(ROOT, file)} imports ${spec} (${target}/)`);
                }
            }
            assert.deepEqual(upward, []);
        });
    }
});
