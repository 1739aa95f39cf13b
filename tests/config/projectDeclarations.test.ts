import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SECTIONS, declaredKeys } from "../../config";
import { defaultOf, documentWithReference, projectDeclarations, pulumiTypeOf, renderConfigReference } from "../../config/reference";
import { ROOT } from "../harness";

describe("Pulumi.yaml declares every config key that has a default", () => {
    const declared = new Map(projectDeclarations(ROOT).map((d) => [d.key, d]));
    const program = declaredKeys();
    const withDefault = program.filter((k) => defaultOf(k.schema) !== undefined);
    const optional = program.filter((k) => defaultOf(k.schema) === undefined);
    const sectionDescription = (key: string): string | undefined => {
        for (const section of Object.values(SECTIONS)) {
            const d = (section as { descriptions?: Record<string, string> }).descriptions?.[key];
            if (d) return d;
        }
        return undefined;
    };

    it("the program and Pulumi.yaml know the same keys with a default", () => {
        assert.deepEqual(
            [...declared.keys()].sort(),
            withDefault.map((k) => k.key).sort(),
            "a key with a default is read by the program but not declared in Pulumi.yaml, or the other way round",
        );
    });

    // The Pulumi engine refuses every update of a stack that does not set a declared key without a
    // default ("Stack 'dev' is missing configuration values ..."): optional keys stay undeclared.
    it("declares no key without a default, which Pulumi would require on every stack", () => {
        assert.deepEqual(
            projectDeclarations(ROOT).filter((d) => d.default === undefined).map((d) => d.key),
            [],
        );
    });

    for (const k of optional) {
        it(`${k.key} (no default): described in its config section, with an example`, () => {
            const d = sectionDescription(k.key);
            assert.ok(d && d.length >= 20, `${k.key} needs a description in its section's descriptions`);
            assert.ok(k.example, `${k.key} needs an example in its config section`);
        });
    }

    for (const k of withDefault) {
        it(`${k.key}: same type, default and secrecy, and a description`, () => {
            const d = declared.get(k.key);
            assert.ok(d, `${k.key} is not declared in Pulumi.yaml`);
            assert.equal(d.type, pulumiTypeOf(k.schema), `Pulumi.yaml types ${k.key} as ${d.type}`);
            const programDefault = defaultOf(k.schema);
            assert.deepEqual(d.default, programDefault, `defaults of ${k.key} differ: Pulumi.yaml ${JSON.stringify(d.default)}, program ${JSON.stringify(programDefault)}`);
            // Pulumi wants a declared secret to be one encrypted value; a default or a map is not one.
            assert.equal(d.secret, false, `${k.key} is declared secret: Pulumi would refuse every stack that keeps its default`);
            assert.ok(d.description.length >= 20, `${k.key} needs a description in Pulumi.yaml`);
            assert.ok(k.example, `${k.key} needs an example in its config section`);
        });
    }

    it("the configuration reference in docs/configuration.md matches (run `npm run config:docs` to refresh it)", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
        assert.equal(doc, documentWithReference(doc, renderConfigReference(ROOT)), "docs/configuration.md is out of date: run `npm run config:docs` and commit it");
    });
});
