import { strict as assert } from "assert";
import { ConfigError, engineSecretKeys, parseStackConfig } from "../../config";
import { runProgram, valueOf } from "../harness";

const imageNames = ["selkies-base", "chrome-selkies"];

function parse(raw: Record<string, string>, env: Record<string, string> = {}) {
    return parseStackConfig(raw, { stack: "dev", env, imageNames });
}

/** The problems a config yields (none when it parses), given the keys the engine decrypted. */
function parseStackConfigProblems(raw: Record<string, string>, secretKeys: Set<string> | undefined) {
    try {
        parseStackConfig(raw, { stack: "dev", env: {}, imageNames, secretKeys });
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
}

/** The problems a config yields; fails the test when it parses. */
function problemsOf(raw: Record<string, string>, env: Record<string, string> = {}) {
    try {
        parse(raw, env);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("the configuration was accepted");
}

describe("stack configuration", () => {
    const local = { "streamspace-images:registryServer": "localhost:5001" };

    it("applies the documented defaults", () => {
        const c = parse({ ...local });
        assert.equal(c.registry.owner, "streamspace-dev");
        assert.equal(c.registry.username, "streamspace-dev");
        assert.deepEqual(c.images.selected, []);
        assert.equal(c.images.tag, "dev");
        assert.equal(c.images.platform, "linux/amd64");
        assert.equal(c.images.push, true);
        assert.equal(c.images.release, false);
        assert.equal(c.registry.local, true);
        assert.equal(c.registry.tokenSource, "none");
    });

    it("reads values the way the Pulumi CLI hands them over (JSON text for lists and booleans)", () => {
        const c = parse({
            ...local,
            "streamspace-images:images": '["chrome-selkies"]',
            "streamspace-images:imagePush": "false",
            "streamspace-images:imagePlatform": "linux/arm64",
        });
        assert.deepEqual(c.images.selected, ["chrome-selkies"]);
        assert.equal(c.images.push, false);
        assert.equal(c.images.platform, "linux/arm64");
    });

    it("ignores keys of other namespaces (provider settings such as aws:region)", () => {
        const c = parse({ ...local, "aws:region": "eu-west-1", "kubernetes:context": "x" });
        assert.equal(c.registry.server, "localhost:5001");
    });

    describe("bad input: one message per problem, naming key, value, what is allowed and the fix", () => {
        it("a value of the wrong type hides nothing else of its section, and is named once", () => {
            const problems = problemsOf({
                ...local,
                "streamspace-images:sessionTestDisplayWidth": "wide",
                "streamspace-images:sessionTestDisplayHeight": "1081",
                "streamspace-images:sessionTestUser": "bad user",
            });
            assert.deepEqual(
                problems.map((p) => `${p.key}: ${p.message}`),
                [
                    "sessionTestDisplayWidth: expected a whole number",
                    "sessionTestUser: a basic-auth user name: 1 to 32 letters, digits, '.', '_' or '-' (no ':' or spaces)",
                    "sessionTestDisplayHeight: the video encoders need an even number of pixels",
                ],
            );
        });

        it("checks across sections in the same round as the sections' own", () => {
            const problems = problemsOf({ "streamspace-images:registryServer": "ghcr.io", "streamspace-images:registryOwner": "acme", "streamspace-images:imageTag": "bad tag" });
            assert.deepEqual(problems.map((p) => p.key), ["imageTag", "registryToken"]);
            assert.match(problems[1].message, /imagePush is on and ghcr\.io needs credentials/);
        });

        it("unknown image name", () => {
            const [p] = problemsOf({ ...local, "streamspace-images:images": '["chrome-selkies","chrome"]' });
            assert.equal(p.key, "images");
            assert.match(p.message, /unknown image 'chrome'/);
            assert.match(p.message, /selkies-base, chrome-selkies/);
            assert.match(p.fix, /pulumi config set --path 'images\[1\]'/);
        });

        it("suggests an image or key only when it is close, and never sets an image nobody asked for", () => {
            const [typo] = problemsOf({ ...local, "streamspace-images:images": '["chrome-selkeis"]' });
            assert.match(typo.message, /^unknown image 'chrome-selkeis' \(did you mean 'chrome-selkies'\?\)/);
            assert.equal(typo.fix, "pulumi config set --path 'images[0]' chrome-selkies --stack dev  (or remove it from the list)");
            const [far] = problemsOf({ ...local, "streamspace-images:images": '["photoshop"]' });
            assert.doesNotMatch(far.message, /did you mean/);
            assert.equal(far.fix, "pulumi config set --path 'images[0]' '<an image of the catalog>' --stack dev  (or remove it from the list)");
            const [key] = problemsOf({ ...local, "streamspace-images:tag": "v1" });
            assert.doesNotMatch(key.message, /did you mean/, "a three-letter key is close to nothing");
            assert.equal(key.fix, "pulumi config rm tag --stack dev");
        });

        it("a tag a registry refuses", () => {
            const [p] = problemsOf({ ...local, "streamspace-images:imageTag": "Release 1!" });
            assert.equal(p.key, "imageTag");
            assert.equal(p.value, "Release 1!");
            assert.match(p.message, /letters, digits, '_', '.' and '-'/);
            assert.equal(p.fix, "pulumi config set imageTag Release-1- --stack dev");
        });

        it("a tag starting with a dot or longer than 128 characters", () => {
            assert.equal(problemsOf({ ...local, "streamspace-images:imageTag": ".hidden" })[0].key, "imageTag");
            assert.equal(problemsOf({ ...local, "streamspace-images:imageTag": "a".repeat(129) })[0].key, "imageTag");
        });

        it("an uppercase owner, with the lowercase spelling in the fix", () => {
            const [p] = problemsOf({ "streamspace-images:registryOwner": "StreamSpace-Dev" }, { GHCR_TOKEN: "t" });
            assert.equal(p.key, "registryOwner");
            assert.match(p.message, /lowercase/);
            assert.match(p.message, /'streamspace-dev' is the same account/);
            assert.equal(p.fix, "pulumi config set registryOwner streamspace-dev --stack dev");
        });

        it("a GHCR owner that GitHub would not allow", () => {
            const [p] = problemsOf({ "streamspace-images:registryOwner": "-team" }, { GHCR_TOKEN: "t" });
            assert.match(p.message, /GitHub user or organisation/);
        });

        it("a registry server given as a URL", () => {
            const [p] = problemsOf({ "streamspace-images:registryServer": "https://ghcr.io/" }, { GHCR_TOKEN: "t" });
            assert.equal(p.key, "registryServer");
            assert.match(p.message, /without scheme or path/);
        });

        it("an unknown platform", () => {
            const [p] = problemsOf({ ...local, "streamspace-images:imagePlatform": "linux/riscv64" });
            assert.equal(p.key, "imagePlatform");
            assert.match(p.message, /allowed: linux\/amd64, linux\/arm64/);
        });

        it("push enabled with no token for a remote registry", () => {
            const [p] = problemsOf({ "streamspace-images:registryServer": "ghcr.io" });
            assert.equal(p.key, "registryToken");
            assert.match(p.message, /GHCR_TOKEN/);
            assert.match(p.fix, /pulumi config set registryToken .* --secret --stack dev/);
            assert.match(p.fix, /imagePush false/);
        });

        it("accepts the token from GHCR_TOKEN, as a secret", async () => {
            const c = parse({ "streamspace-images:registryServer": "ghcr.io" }, { GHCR_TOKEN: "token-from-ci" });
            assert.equal(c.registry.tokenSource, "GHCR_TOKEN");
            assert.ok(c.registry.token);
            assert.equal(await valueOf(c.registry.token), "token-from-ci");
        });

        it("needs no token when pushing is off", () => {
            const c = parse({ "streamspace-images:registryServer": "ghcr.io", "streamspace-images:imagePush": "false" });
            assert.equal(c.images.push, false);
        });

        it("wrong types: a word where a boolean or a list is expected", () => {
            const problems = problemsOf({
                ...local,
                "streamspace-images:imagePush": "yes",
                "streamspace-images:images": "chrome-selkies",
            });
            const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
            assert.match(byKey.imagePush.message, /expected true or false/);
            assert.equal(byKey.imagePush.value, "yes");
            assert.match(byKey.images.message, /expected a list/);
        });

        it("unknown keys, with the likely intended key, the value moved without being printed", () => {
            const [p] = problemsOf({ ...local, "streamspace-images:imageTagg": "v1" });
            assert.equal(p.key, "imageTagg");
            assert.equal(p.value, "(hidden: 2 characters)");
            assert.match(p.message, /did you mean 'imageTag'/);
            assert.equal(p.fix, 'pulumi config set imageTag "$(pulumi config get imageTagg --stack dev)" --stack dev && pulumi config rm imageTagg --stack dev');
        });

        it("never prints the value of an unknown key: a token under a wrong name stays hidden, in message and fix", () => {
            const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
            for (const key of ["registryPassword", "githubToken", "myToken"]) {
                let message = "";
                try {
                    parse({ ...local, [`streamspace-images:${key}`]: token });
                } catch (e) {
                    message = (e as Error).message;
                }
                assert.match(message, new RegExp(`${key} = "\\(hidden: ${token.length} characters\\)"`));
                assert.ok(!message.includes(token), `${key}: the value was printed:\n${message}`);
            }
        });

        it("refuses keys of a namespace neither the program nor its providers read, and says where they belong", () => {
            const problems = problemsOf({ ...local, "streamspace:registryOwner": "acme", "streamspace-image:imageTag": "v2" });
            const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
            assert.match(byKey["streamspace:registryOwner"].message, /namespace 'streamspace', which neither this program \('streamspace-images'\) nor its providers .* read: it would be ignored; meant streamspace-images:registryOwner\?/);
            assert.equal(byKey["streamspace:registryOwner"].value, "(hidden: 4 characters)");
            assert.equal(
                byKey["streamspace:registryOwner"].fix,
                "pulumi config set registryOwner \"$(pulumi config get streamspace:registryOwner --stack dev)\" --stack dev && pulumi config rm streamspace:registryOwner --stack dev",
            );
            assert.ok(byKey["streamspace-image:imageTag"], "a near-miss of the project name is refused too");
            // The providers' own keys are theirs.
            assert.doesNotThrow(() => parse({ ...local, "kubernetes:context": "kind", "aws:region": "eu-west-1", "gcp:project": "p" }));
        });

        it("refuses a secret key held in plaintext, with the command that encrypts it, never showing it", () => {
            const problems = parseStackConfigProblems(
                { ...local, "streamspace-images:registryToken": "plain-token-value" },
                new Set<string>(),
            );
            assert.equal(problems.length, 1);
            assert.equal(problems[0].key, "registryToken");
            assert.equal(problems[0].value, "(secret)");
            assert.match(problems[0].message, /a secret stored in plaintext/);
            assert.equal(problems[0].fix, 'pulumi config set registryToken "$(pulumi config get registryToken --stack dev)" --secret --stack dev');
            // Set with --secret, it passes; with the engine's list unknown, nothing is assumed.
            assert.deepEqual(parseStackConfigProblems({ ...local, "streamspace-images:registryToken": "x" }, new Set(["streamspace-images:registryToken"])), []);
            assert.deepEqual(parseStackConfigProblems({ ...local, "streamspace-images:registryToken": "x" }, undefined), []);
        });

        it("reads the engine's list of decrypted keys in either key form, and tolerates its absence", () => {
            assert.deepEqual([...engineSecretKeys('["streamspace-images:registryToken","streamspace-images:config:githubPulumiAccessToken"]')!].sort(), [
                "streamspace-images:githubPulumiAccessToken",
                "streamspace-images:registryToken",
            ]);
            assert.equal(engineSecretKeys(undefined), undefined);
            assert.equal(engineSecretKeys("not json"), undefined);
        });

        it("an unknown key that resembles nothing says so without guessing", () => {
            const [p] = problemsOf({ ...local, "streamspace-images:colourScheme": "dark" });
            assert.doesNotMatch(p.message, /did you mean/);
            assert.equal(p.fix, "pulumi config rm colourScheme --stack dev");
        });

        it("reports every problem at once, numbered, and never shows a secret value", () => {
            let error: ConfigError | undefined;
            try {
                parse({
                    "streamspace-images:registryOwner": "ACME",
                    "streamspace-images:imageTag": "bad tag",
                    "streamspace-images:registryTokn": "super-secret-value",
                    "streamspace-images:registryToken": "",
                });
            } catch (e) {
                error = e as ConfigError;
            }
            assert.ok(error);
            assert.match(error.message, /^The configuration of stack 'dev' has 3 problems; nothing was created or changed:/);
            assert.match(error.message, /  1\. /);
            assert.match(error.message, /  3\. /);
            assert.match(error.message, /did you mean 'registryToken'/);
            // registryTokn is a likely misspelling of a secret: its value is treated as a secret too.
            assert.doesNotMatch(error.message, /super-secret-value/);
        });
    });
});

describe("registry credentials", () => {
    const ghcr = { "streamspace-images:registryServer": "ghcr.io" };
    const local = { "streamspace-images:registryServer": "localhost:5001" };
    // What scripts/deploy-dev.sh sets up without a Pulumi login: a file backend, the empty passphrase.
    const devBackend = { PULUMI_BACKEND_URL: "file:///home/someone/streamspace-images/.pulumi-state", PULUMI_CONFIG_PASSPHRASE: "" };
    const GITHUB_TOKEN = "ghp_tokenofsomeonesgithubaccount0123456789";

    it("sends GHCR_TOKEN to ghcr.io", async () => {
        const c = parse(ghcr, { GHCR_TOKEN: GITHUB_TOKEN });
        assert.equal(c.registry.tokenSource, "GHCR_TOKEN");
        assert.equal(await valueOf(c.registry.token!), GITHUB_TOKEN);
    });

    it("never sends GHCR_TOKEN to a local registry", () => {
        const c = parse(local, { GHCR_TOKEN: GITHUB_TOKEN });
        assert.equal(c.registry.tokenSource, "none");
        assert.equal(c.registry.token, undefined);
    });

    it("never sends GHCR_TOKEN to another remote registry, and asks for that registry's own token", () => {
        const [p] = problemsOf({ "streamspace-images:registryServer": "registry.example.com" }, { GHCR_TOKEN: GITHUB_TOKEN });
        assert.equal(p.key, "registryToken");
        assert.match(p.message, /registry\.example\.com needs credentials, but registryToken is not set \(GHCR_TOKEN is sent to ghcr\.io only\)/);
        assert.match(p.fix, /^pulumi config set registryToken .* --secret --stack dev/);
        assert.doesNotMatch(p.fix, /GHCR_TOKEN/);
    });

    it("uses a registryToken set for a local registry: the user chose to send it", async () => {
        const c = parse({ ...local, "streamspace-images:registryToken": "local-registry-password" }, { GHCR_TOKEN: GITHUB_TOKEN });
        assert.equal(c.registry.tokenSource, "config");
        assert.equal(await valueOf(c.registry.token!), "local-registry-password");
    });

    it("refuses to store GHCR_TOKEN in a local file backend with the empty passphrase, saying why and how to set one", () => {
        const problems = problemsOf(ghcr, { GHCR_TOKEN: GITHUB_TOKEN, ...devBackend });
        assert.equal(problems.length, 1, problems.map((p) => p.message).join("\n"));
        const [p] = problems;
        assert.equal(p.key, "registryToken");
        assert.equal(p.value, undefined);
        assert.match(p.message, /the registry token \(from the GHCR_TOKEN environment variable\) would be stored in the stack's state/);
        assert.match(p.message, /local file backend \(PULUMI_BACKEND_URL=file:\/\/\/home\/someone\/streamspace-images\/\.pulumi-state\)/);
        assert.match(p.message, /encrypted with the empty passphrase \(PULUMI_CONFIG_PASSPHRASE is empty\): anyone who reads the state or the stack file could decrypt it/);
        assert.match(p.fix, /export PULUMI_CONFIG_PASSPHRASE='<passphrase>' \(or PULUMI_CONFIG_PASSPHRASE_FILE=<file>\)/);
        assert.match(p.fix, /pulumi stack change-secrets-provider passphrase --stack dev/);
        assert.match(p.fix, /unset GHCR_TOKEN$/);
    });

    it("refuses a registryToken from the config there too, without showing it", () => {
        let message = "";
        try {
            parse({ ...local, "streamspace-images:registryToken": "local-registry-password" }, devBackend);
        } catch (e) {
            message = (e as Error).message;
        }
        assert.match(message, /streamspace-images:registryToken = "\(secret\)": the registry token \(from registryToken\) would be stored/);
        assert.match(message, /Or leave the token out: pulumi config rm registryToken --stack dev/);
        assert.doesNotMatch(message, /local-registry-password/);
    });

    it("stores the token when the passphrase is set, read from a file, or the backend is not a local file", () => {
        for (const env of [
            { ...devBackend, PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" },
            { ...devBackend, PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pulumi-passphrase" },
            { ...devBackend, PULUMI_CONFIG_PASSPHRASE: undefined },
            { PULUMI_BACKEND_URL: "https://api.pulumi.com", PULUMI_CONFIG_PASSPHRASE: "" },
            { PULUMI_CONFIG_PASSPHRASE: "" },
        ]) {
            const c = parse(ghcr, { GHCR_TOKEN: GITHUB_TOKEN, ...env } as Record<string, string>);
            assert.equal(c.registry.tokenSource, "GHCR_TOKEN", JSON.stringify(env));
        }
    });

    it("the dev stack, deployed the README's way from a shell that holds a GitHub token, sends and stores no token", async () => {
        const run = await runProgram({ stack: "dev", env: { GHCR_TOKEN: GITHUB_TOKEN, PULUMI_CONFIG_PASSPHRASE_FILE: undefined, ...devBackend } });
        assert.equal(run.error, undefined, run.error?.message);
        assert.ok(run.resources.some((r) => r.type === "docker:index/image:Image"), "the dev stack built no image");
        const leaked = run.resources.filter((r) => JSON.stringify(r.inputs).includes(GITHUB_TOKEN)).map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(leaked, [], "resources that received the GitHub token");
    });
});

describe("bad configuration registers no resource", () => {
    const cases: [string, Record<string, unknown>][] = [
        ["unknown image", { images: ["does-not-exist"] }],
        ["bad tag", { imageTag: "no spaces allowed" }],
        ["uppercase owner", { registryOwner: "StreamSpace" }],
        ["unknown platform", { imagePlatform: "windows/amd64" }],
        ["push without token", { registryServer: "ghcr.io" }],
        ["wrong type", { imagePush: "sometimes" }],
        ["unknown key", { imagesTag: "v1" }],
        ["key of another namespace", { "streamspace:imageTag": "v1" }],
    ];
    for (const [name, config] of cases) {
        it(name, async () => {
            const run = await runProgram({ stack: "dev", config, env: { GHCR_TOKEN: undefined } });
            assert.ok(run.error, "the program did not stop");
            assert.equal(run.error.name, "ConfigError");
            assert.deepEqual(
                run.resources.map((r) => `${r.type} ${r.name}`),
                [],
                "resources were registered despite the bad configuration",
            );
        });
    }
});
