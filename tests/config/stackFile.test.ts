import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { misplacedStackFileKeys, readStackFileConfig } from "../../config/stackFile";
import { policyConfigForStack } from "../../scripts/policy-config";
import { ROOT, runProgram } from "../harness";

/** A scratch repository root: the real Pulumi.yaml and catalog, and the given stack files. */
function scratchRoot(files: Record<string, string>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "stack-files-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(root, "package.json"));
    fs.symlinkSync(path.join(ROOT, "images"), path.join(root, "images"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name), text);
    return root;
}

describe("stack files", () => {
    it("hand the program strings, JSON for the rest, a stand-in for encrypted values, and which keys were encrypted", () => {
        const root = scratchRoot({
            "Pulumi.qa.yaml": "config:\n  streamspace-images:imageTag: qa\n  streamspace-images:imagePush: false\n  streamspace-images:registryToken:\n    secure: AAABAK1x\n",
        });
        const file = readStackFileConfig("qa", root, "stand-in");
        assert.deepEqual(file.raw, { "streamspace-images:imageTag": "qa", "streamspace-images:imagePush": "false", "streamspace-images:registryToken": "stand-in" });
        assert.deepEqual([...file.secretKeys], ["streamspace-images:registryToken"]);
    });

    it("refuse settings outside config:, which the Pulumi CLI would ignore without a word", () => {
        assert.deepEqual(misplacedStackFileKeys({ config: {}, encryptionsalt: "x", "streamspace-images:imageTag": "v1" }), ["streamspace-images:imageTag"]);
        const root = scratchRoot({ "Pulumi.qa.yaml": "streamspace-images:imageTag: v1\nstreamspace-images:registryOwner: acme\n" });
        assert.throws(
            () => readStackFileConfig("qa", root, "x"),
            /Pulumi\.qa\.yaml: 'streamspace-images:imageTag', 'streamspace-images:registryOwner' are at the top level, where the Pulumi CLI does not read settings, so they would be ignored: indent them under 'config:'/,
        );
    });

    describe("through scripts/policy-config.ts", () => {
        it("a stack file without config: is refused, naming the keys", () => {
            const root = scratchRoot({ "Pulumi.qa.yaml": "streamspace-images:registryServer: localhost:5001\n" });
            assert.throws(() => policyConfigForStack("qa", root), /policy-config: Pulumi\.qa\.yaml: 'streamspace-images:registryServer' is at the top level/);
        });

        it("a plaintext registry token is refused, without printing it", () => {
            const root = scratchRoot({ "Pulumi.qa.yaml": "config:\n  streamspace-images:registryToken: ghp_plaintexttokenvalue\n" });
            let message = "";
            try {
                policyConfigForStack("qa", root);
            } catch (e) {
                message = (e as Error).message;
            }
            assert.match(message, /streamspace-images:registryToken = "\(secret\)": a secret stored in plaintext/);
            assert.match(message, /--secret --stack qa/);
            assert.ok(!message.includes("ghp_plaintexttokenvalue"), message);
        });

        it("a key under another namespace is refused, its value hidden", () => {
            const root = scratchRoot({ "Pulumi.qa.yaml": "config:\n  streamspace-images:registryServer: localhost:5001\n  streamspace:registryOwner: acme-corp\n" });
            let message = "";
            try {
                policyConfigForStack("qa", root);
            } catch (e) {
                message = (e as Error).message;
            }
            assert.match(message, /streamspace:registryOwner = "\(hidden: 9 characters\)": a key of namespace 'streamspace'/);
            assert.ok(!message.includes("acme-corp"), message);
        });
    });

    describe("through scripts/policy-config.ts, the other classes", () => {
        const messageOf = (yaml: string) => {
            const root = scratchRoot({ "Pulumi.qa.yaml": yaml });
            try {
                policyConfigForStack("qa", root);
            } catch (e) {
                return (e as Error).message;
            }
            return assert.fail("the stack file was accepted");
        };

        it("a token under a misspelt key: its value hidden, the move done by the shell", () => {
            const message = messageOf("config:\n  streamspace-images:registryServer: localhost:5001\n  streamspace-images:registryTokn: ghp_wrongplacevalue\n");
            assert.match(message, /streamspace-images:registryTokn = "\(hidden: 19 characters\)": unknown key; did you mean 'registryToken'\?/);
            assert.match(message, /pulumi config set registryToken "\$\(pulumi config get registryTokn --stack qa\)" --secret --stack qa/);
            assert.ok(!message.includes("ghp_wrongplacevalue"), message);
        });

        it("every problem in one round: a wrong type, a bad value beside it, and an unknown image, with quoted placeholders", () => {
            const message = messageOf(
                "config:\n  streamspace-images:registryServer: localhost:5001\n  streamspace-images:sessionTestDisplayWidth: wide\n  streamspace-images:sessionTestDisplayHeight: 1081\n  streamspace-images:images: [photoshop]\n",
            );
            assert.match(message, /has 3 problems/);
            assert.match(message, /sessionTestDisplayWidth = "wide": expected a whole number/);
            assert.match(message, /sessionTestDisplayHeight = "1081": the video encoders need an even number of pixels/);
            assert.match(message, /unknown image 'photoshop'; the catalog has/);
            assert.match(message, /pulumi config set --path 'images\[0\]' '<an image of the catalog>' --stack qa/);
        });
    });

    describe("through the program", () => {
        it("a secret set without --secret stops the update before any resource", async () => {
            const run = await runProgram({ stack: "staging", config: { registryToken: "ghp_notencrypted" }, plaintext: ["registryToken"] });
            assert.ok(run.error, "the program did not stop");
            assert.match(run.error.message, /streamspace-images:registryToken = "\(secret\)": a secret stored in plaintext/);
            assert.ok(!run.error.message.includes("ghp_notencrypted"));
            assert.deepEqual(run.resources, []);
            const encrypted = await runProgram({ stack: "staging", config: { registryToken: "ghp_encrypted" } });
            assert.equal(encrypted.error, undefined, encrypted.error?.message);
        });

        it("a stack file with settings outside config: stops the update before any resource", async () => {
            const file = path.join(ROOT, "Pulumi.misplaced-keys-test.yaml");
            fs.writeFileSync(file, "streamspace-images:imageTag: v1\n");
            try {
                const run = await runProgram({ stack: "misplaced-keys-test", bare: true, config: { registryServer: "localhost:5001" } });
                assert.ok(run.error, "the program did not stop");
                assert.match(run.error.message, /Pulumi\.misplaced-keys-test\.yaml: 'streamspace-images:imageTag' is at the top level/);
                assert.deepEqual(run.resources, []);
            } finally {
                fs.rmSync(file, { force: true });
            }
        });
    });
});
