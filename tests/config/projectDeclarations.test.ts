import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { declaredKeys } from "../../config";
import { defaultOf, documentWithReference, projectDeclarations, pulumiTypeOf, renderConfigReference } from "../../config/reference";
import { ROOT } from "../harness";

describe("Pulumi.yaml declares every config key", () => {
    const declared = new Map(projectDeclarations(ROOT).map((d) => [d.key, d]));
    const program = declaredKeys();

    it("the program and Pulumi.yaml know the same keys", () => {
        assert.deepEqual(
            [...declared.keys()].sort(),
            program.map((k) => k.key).sort(),
            "a key is read by the program but not declared in Pulumi.yaml, or the other way round",
        );
    });

    for (const k of program) {
        it(`${k.key}: same type, default and secrecy, and a description`, () => {
            const d = declared.get(k.key);
            assert.ok(d, `${k.key} is not declared in Pulumi.yaml`);
            assert.equal(d.type, pulumiTypeOf(k.schema), `Pulumi.yaml types ${k.key} as ${d.type}`);
            const programDefault = defaultOf(k.schema);
            assert.deepEqual(d.default, programDefault, `defaults of ${k.key} differ: Pulumi.yaml ${JSON.stringify(d.default)}, program ${JSON.stringify(programDefault)}`);
            assert.equal(d.secret, k.secret, `${k.key}: secret in one place but not the other`);
            assert.ok(d.description.length >= 20, `${k.key} needs a description in Pulumi.yaml`);
            assert.ok(k.example, `${k.key} needs an example in its config section`);
        });
    }

    it("the configuration reference in docs/configuration.md matches (run `npm run config:docs` to refresh it)", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
        assert.equal(doc, documentWithReference(doc, renderConfigReference(ROOT)), "docs/configuration.md is out of date: run `npm run config:docs` and commit it");
    });
});
