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

    it("a fix that sets a value resolves the problem it was offered for, and adds none of its own", () => {
        const base = { githubEnabled: "true", gpuProvider: "eks", sessionTestTransport: "webrtc" };
        const bad = ["not a valid value", "-1", "[", "0", "99999"];
        const checked: string[] = [];
        const invalid: string[] = [];
        for (const { key, secret } of declaredKeys()) {
            if (secret) continue;
            for (const value of bad) {
                const raw = { ...base, [key]: value };
                const before = problemsOf(raw);
                for (const p of before.filter((q) => q.key === key)) {
                    // Only fixes that are one plain `pulumi config set KEY VALUE`: no placeholder, no path.
                    const m = /^pulumi config set (\w+) ([^\s'"<>$]+) --stack bootstrap$/.exec(p.fix);
                    if (!m || m[1] !== key) continue;
                    const after = problemsOf({ ...raw, [key]: m[2] }).filter((q) => q.key === key);
                    checked.push(`${key}=${value} -> ${m[2]}`);
                    if (after.length > 0) invalid.push(`${key}=${value}: the fix sets ${m[2]}, which is refused too: ${after[0].message}`);
                }
            }
        }
        assert.ok(checked.length > 20, `only ${checked.length} fixes applied`);
        assert.deepEqual(invalid, []);
    });
});
