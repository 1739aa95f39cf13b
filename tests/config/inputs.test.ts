/**
 * loadInputs: the catalog and the stack configuration are checked in the same round, and a user
 * sees every problem of both at once.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CatalogError } from "../../catalog";
import { ConfigError, parseStackConfig } from "../../config";
import { InputsError, loadInputs } from "../../config/inputs";
import { validCatalog } from "../catalog/fixtures";

/** Parses RAW as the program would, against the image names the catalog shows; remembers them. */
function reader(raw: Record<string, string>, seen: string[][] = []) {
    return (imageNames: readonly string[]) => {
        seen.push([...imageNames]);
        return parseStackConfig(raw, { stack: "dev", imageNames });
    };
}

const GOOD = { "streamspace-images:registryServer": "localhost:5001", "streamspace-images:images": '["app"]', "streamspace-images:sessionTestEnabled": "false" };
const BAD = { ...GOOD, "streamspace-images:imageTag": "bad tag" };

function broken(): string {
    const root = validCatalog();
    const file = path.join(root, "images", "app", "image.yaml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("version: 1.2.3", "version: one"));
    return root;
}

describe("loadInputs", () => {
    it("a catalog and a configuration that are both wrong: every problem of both in one error", () => {
        const seen: string[][] = [];
        let error: unknown;
        try {
            loadInputs(reader(BAD, seen), broken());
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof InputsError, String(error));
        assert.match(error.message, /^The image catalog has 1 problem; nothing was created or changed:\n  1\. images\/app\/image\.yaml:\d+: field 'version'/);
        assert.match(error.message, /\n\nThe configuration of stack 'dev' has 1 problem; nothing was created or changed:\n  1\. streamspace-images:imageTag = "bad tag"/);
        // The configuration was checked against the names the broken catalog still shows.
        assert.deepEqual(seen, [["app", "app-kasmvnc", "base"]]);
    });

    it("never suggests a session image the catalog lacks", () => {
        let error: unknown;
        try {
            loadInputs(reader({ ...GOOD, "streamspace-images:sessionTestEnabled": "true", "streamspace-images:sessionTestImage": "chrome" }), validCatalog());
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof ConfigError, String(error));
        const p = error.problems.find((q) => q.key === "sessionTestImage");
        assert.equal(p?.fix, "pulumi config set sessionTestImage '<one of: base, app, app-kasmvnc>' --stack dev  (or: pulumi config set sessionTestEnabled false --stack dev)");
    });

    it("only one of them wrong: that one's own error, as before", () => {
        assert.throws(() => loadInputs(reader(GOOD), broken()), (e: unknown) => e instanceof CatalogError && !(e instanceof InputsError));
        assert.throws(() => loadInputs(reader(BAD), validCatalog()), (e: unknown) => e instanceof ConfigError);
        const { catalog, config } = loadInputs(reader(GOOD), validCatalog());
        assert.deepEqual(catalog.images.map((i) => i.name), ["base", "app", "app-kasmvnc"]);
        assert.deepEqual(config.images.selected, ["app"]);
    });
});
