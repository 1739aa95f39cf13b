/**
 * streamspace-import-signing-key, which puts a vendor's apt signing key into a `signed-by=` keyring,
 * run for real with Debian's gpg on throwaway keys: a key file that carries the vendor's key plus
 * another must leave only the vendor's key for apt to trust. Also: every Dockerfile that runs it can
 * reach it, and the copies in image folders built on a LinuxServer base are the same file.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadCatalog } from "../../catalog";
import { DockerfileParser } from "dockerfile-ast";
import { dockerfileWithScripts, scriptsRun, SIGNING_KEY_HELPER } from "../../catalog/dockerfileStandards";
import { ROOT } from "../harness";

const HELPER_PATH = `rootfs/usr/local/sbin/${SIGNING_KEY_HELPER}`;
const SCRIPT = path.join(ROOT, "images/selkies-base", HELPER_PATH);

interface Listed {
    primaries: string[];
    subkeys: string[];
}

/** The primary keys' and subkeys' fingerprints gpg lists for a key file, read without importing it. */
function showKeys(file: string, home: string): Listed {
    const r = spawnSync("gpg", ["--batch", "--homedir", home, "--with-colons", "--with-fingerprint", "--with-subkey-fingerprint", "--show-keys", file], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    const listed: Listed = { primaries: [], subkeys: [] };
    let owner: "pub" | "sub" | undefined;
    for (const fields of r.stdout.split("\n").map((l) => l.split(":"))) {
        if (fields[0] === "pub" || fields[0] === "sub") owner = fields[0];
        else if (fields[0] === "fpr" && owner) {
            (owner === "pub" ? listed.primaries : listed.subkeys).push(fields[9]);
            owner = undefined;
        }
    }
    return listed;
}

describe(SIGNING_KEY_HELPER, function () {
    this.timeout(60000);
    const hasGpg = spawnSync("gpg", ["--version"]).status === 0;
    let dir: string;
    let home: string;
    let vendor: string;
    let vendorSubkey: string;
    let other: string;
    const file = (name: string) => path.join(dir, name);

    const gpg = (...args: string[]) => {
        const r = spawnSync("gpg", ["--batch", "--homedir", home, ...args], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `gpg ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    const newKey = (uid: string): string => {
        gpg("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never");
        return gpg("--with-colons", "--list-keys", uid).split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9];
    };
    const run = (args: string[], extraPath?: string) => {
        const r = spawnSync("bash", [SCRIPT, ...args], {
            cwd: dir,
            env: { PATH: extraPath ? `${extraPath}:${process.env.PATH}` : process.env.PATH, HOME: dir },
            encoding: "utf8",
            timeout: 30000,
        });
        return { status: r.status, stderr: r.stderr };
    };

    before(() => {
        assert.ok(hasGpg, "gpg is not installed; install the Debian package gpg (scripts/test.sh does)");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "streamspace-signing-key-"));
        home = file("keys");
        fs.mkdirSync(home, { mode: 0o700 });
        vendor = newKey("Vendor Archive <archive@vendor.example>");
        // Vendors sign their archives with subkeys, which apt must still find in the keyring.
        gpg("--passphrase", "", "--quick-add-key", vendor, "ed25519", "sign", "never");
        fs.writeFileSync(file("vendor.asc"), gpg("--armor", "--export", vendor));
        vendorSubkey = showKeys(file("vendor.asc"), home).subkeys[0];
        other = newKey("Someone Else <else@elsewhere.example>");
        fs.writeFileSync(file("both.asc"), gpg("--armor", "--export", other, vendor));
        fs.writeFileSync(file("other.asc"), gpg("--armor", "--export", other));
    });

    after(() => {
        if (!dir) return;
        spawnSync("gpgconf", ["--homedir", home, "--kill", "all"]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the key file given to it really holds two primary keys", () => {
        assert.deepStrictEqual(showKeys(file("both.asc"), home).primaries.sort(), [vendor, other].sort());
    });

    it("keeps only the key with the published fingerprint, with its subkeys, from a file carrying another", () => {
        const r = run([file("both.asc"), vendor, file("out/keyrings/vendor.gpg")]);
        assert.strictEqual(r.status, 0, r.stderr);
        const keyring = showKeys(file("out/keyrings/vendor.gpg"), home);
        assert.deepStrictEqual(keyring.primaries, [vendor]);
        assert.deepStrictEqual(keyring.subkeys, [vendorSubkey]);
        assert.strictEqual(fs.statSync(file("out/keyrings/vendor.gpg")).mode & 0o777, 0o644, "apt reads the keyring as an unprivileged user");
    });

    it("takes the fingerprint as vendors print it: groups of four, lower case", () => {
        const printed = vendor.toLowerCase().replace(/(.{4})/g, "$1 ").trim();
        const r = run([file("both.asc"), printed, file("printed.gpg")]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(showKeys(file("printed.gpg"), home).primaries, [vendor]);
    });

    it("refuses a file without the fingerprint, naming the keys it holds, and writes no keyring", () => {
        const r = run([file("other.asc"), vendor, file("refused.gpg")]);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, new RegExp(`other\\.asc holds no primary key with fingerprint ${vendor} \\(it holds: ${other}\\); check the URL and the fingerprint`));
        assert.ok(!fs.existsSync(file("refused.gpg")));
    });

    it("refuses a subkey's fingerprint: apt would trust the whole key it belongs to", () => {
        const r = run([file("both.asc"), vendorSubkey, file("subkey.gpg")]);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /holds no primary key with fingerprint/);
        assert.ok(!fs.existsSync(file("subkey.gpg")));
    });

    it("refuses a file that holds no key, with gpg's reason", () => {
        fs.writeFileSync(file("page.html"), "<html>Not Found</html>\n");
        const r = run([file("page.html"), vendor, file("none.gpg")]);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /gpg says: .*no valid OpenPGP data/);
        assert.match(r.stderr, /holds no primary key .* \(it holds: no key\)/);
    });

    it("refuses a short key id, which anyone can forge, asking for the full fingerprint", () => {
        const r = run([file("both.asc"), vendor.slice(-16), file("short.gpg")]);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /is not a full OpenPGP fingerprint \(40 hexadecimal digits\)/);
    });

    it("downloads an https:// key with curl and refuses plain http://", () => {
        const bin = file("fake-bin");
        fs.mkdirSync(bin, { recursive: true });
        // The stand-in curl serves both.asc for any URL and notes the URL it was asked for.
        fs.writeFileSync(
            path.join(bin, "curl"),
            `#!/bin/bash\nout=\nwhile [ $# -gt 0 ]; do case $1 in -o) out=$2; shift ;; http*) echo "$1" >"${file("curl-url")}" ;; esac; shift; done\ncp "${file("both.asc")}" "$out"\n`,
            { mode: 0o755 },
        );
        const r = run(["https://vendor.example/archive.asc", vendor, file("downloaded.gpg")], bin);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(fs.readFileSync(file("curl-url"), "utf8").trim(), "https://vendor.example/archive.asc");
        assert.deepStrictEqual(showKeys(file("downloaded.gpg"), home).primaries, [vendor]);
        const plain = run(["http://vendor.example/archive.asc", vendor, file("plain.gpg")], bin);
        assert.strictEqual(plain.status, 1);
        assert.match(plain.stderr, /only https:\/\/ URLs or local files/);
    });
});

describe(`${SIGNING_KEY_HELPER}: where the images find it`, () => {
    const catalog = loadCatalog(ROOT);
    const dockerfiles = catalog.images.map((i) => ({ image: i, file: path.join(i.folder, i.dockerfile) }));
    /** What a build runs: the Dockerfile and the install script its RUN mounts. */
    const runs = (file: string, folder: string) => dockerfileWithScripts(fs.readFileSync(path.join(ROOT, file), "utf8"), path.join(ROOT, folder));
    const callers = dockerfiles.filter((d) => runs(d.file, d.image.folder).includes(SIGNING_KEY_HELPER));

    it("the builds that add a vendor's apt repository run it (Chrome, Firefox, VS Code, both flavours; through their install script)", () => {
        assert.deepStrictEqual(
            callers.map((d) => `${d.image.name} ${d.file}`).sort(),
            [
                "chrome-selkies images/app.Dockerfile",
                "chrome-selkies-kasmvnc images/app.kasmvnc.Dockerfile",
                "firefox-selkies images/app.Dockerfile",
                "firefox-selkies-kasmvnc images/app.kasmvnc.Dockerfile",
                "vscode-selkies images/app.Dockerfile",
                "vscode-selkies-kasmvnc images/app.kasmvnc.Dockerfile",
            ].sort(),
        );
    });

    it("each caller gets it from selkies-base or copies its own folder's copy in before the RUN that runs it", () => {
        for (const { image, file } of callers) {
            if (catalog.chain(image.name).some((i) => i.name === "selkies-base" && i.name !== image.name)) continue;
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            const instructions = DockerfileParser.parse(text).getInstructions();
            // The helper itself, or the whole rootfs/ of a folder that holds it.
            const copy = instructions.find(
                (i) => i.getKeyword() === "COPY" && [`${HELPER_PATH} /usr/local/sbin/${SIGNING_KEY_HELPER}`, "rootfs/ /"].includes(i.getArgumentsContent() ?? ""),
            );
            assert.ok(copy, `${file} is not built on selkies-base: it needs COPY ${HELPER_PATH} /usr/local/sbin/${SIGNING_KEY_HELPER} (or COPY rootfs/ /)`);
            const runner = instructions.find(
                (i) =>
                    i.getKeyword() === "RUN" &&
                    [i.getArgumentsContent() ?? "", ...scriptsRun(instructions, i).map((f) => fs.readFileSync(path.join(ROOT, image.folder, f), "utf8"))].some((t) => t.includes(SIGNING_KEY_HELPER)),
            );
            assert.ok(runner, `${file}: no RUN runs ${SIGNING_KEY_HELPER}`);
            assert.ok(copy.getRange().start.line < runner.getRange().start.line, `${file} runs ${SIGNING_KEY_HELPER} before it copies it in`);
            assert.ok(fs.existsSync(path.join(ROOT, image.folder, HELPER_PATH)), `${image.folder}/${HELPER_PATH} is missing`);
        }
    });

    it("every copy is byte-identical to selkies-base's and executable", () => {
        const base = fs.readFileSync(SCRIPT);
        const copies = fs.readdirSync(path.join(ROOT, "images")).map((f) => path.join("images", f, HELPER_PATH)).filter((f) => fs.existsSync(path.join(ROOT, f)));
        assert.ok(copies.length >= 3, `only ${copies.join(", ")}`);
        for (const copy of copies) {
            assert.ok(fs.readFileSync(path.join(ROOT, copy)).equals(base), `${copy} differs from images/selkies-base/${HELPER_PATH}; copy it over: cp images/selkies-base/${HELPER_PATH} ${copy}`);
            assert.strictEqual(fs.statSync(path.join(ROOT, copy)).mode & 0o755, 0o755, `${copy} is not executable; chmod 0755 it`);
        }
    });
});
