/**
 * Every fix a config problem suggests can be pasted into a shell: a placeholder such as <token>
 * is quoted, never left where the shell would read it as a redirection.
 */
import { strict as assert } from "assert";
import { ConfigError, Problem, declaredKeys, parseStackConfig } from "../../config";

/** The characters of TEXT a POSIX shell reads outside quotes (command substitutions kept). */
function unquoted(text: string): string {
    let out = "";
    let quote: string | undefined;
    for (const c of text) {
        if (quote) {
            if (c === quote) quote = undefined;
        } else if (c === "'" || c === '"') {
            quote = c;
        } else {
            out += c;
        }
    }
    return out;
}

function problemsOf(raw: Record<string, string>, stack = "bootstrap"): Problem[] {
    try {
        parseStackConfig(raw, { stack, imageNames: ["selkies-base", "chrome-selkies", "stream-probe", "coturn"] });
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

describe("fix commands", () => {
    it("the quote check sees a bare placeholder (so a clean result means something)", () => {
        assert.match(unquoted("pulumi config set registryToken <token> --secret"), /[<>]/);
        assert.doesNotMatch(unquoted("pulumi config set registryToken '<token>' --secret"), /[<>]/);
    });

    it("quote every placeholder, for every key's missing or malformed value", () => {
        const fixes: string[] = [];
        const bad = ["not a valid value", "-1", "[", "{x: <y>}", ""];
        for (const { key } of declaredKeys()) {
            for (const value of bad) {
                for (const p of problemsOf({ githubEnabled: "true", gpuProvider: "eks", sessionTestTransport: "webrtc", [key]: value })) {
                    if (p.fix) fixes.push(`${p.key}: ${p.fix}`);
                }
            }
        }
        assert.ok(fixes.length > 100, `only ${fixes.length} fixes seen`);
        const bare = [...new Set(fixes.filter((f) => /[<>]/.test(unquoted(f.slice(f.indexOf(": ") + 2)))))];
        assert.deepEqual(bare, [], "fix commands with a placeholder the shell would read as a redirection");
    });
});
