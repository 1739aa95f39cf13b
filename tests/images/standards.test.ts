import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { RULES, RuleId, Violation, checkCatalogDockerfiles, checkDockerfile, formatViolation } from "../../catalog/dockerfileStandards";
import { loadCatalog } from "../../catalog";
import { SELKIES_ENV, STANDARD_ENV, STANDARD_PORTS } from "../../catalog/imageStandard";
import { ROOT } from "../harness";

const FIXTURE = path.join(ROOT, "tests/fixtures/dockerfiles/broken.Dockerfile");

function checkText(text: string, opts = {}): Violation[] {
    return checkDockerfile("Dockerfile", text, opts).violations;
}

/** A Dockerfile that follows the standard, for tests that break one thing at a time. */
function goodDockerfile(): string {
    return fs.readFileSync(path.join(ROOT, "images/selkies-base/Dockerfile"), "utf8");
}

describe("image standard: Dockerfile checker", () => {
    it("every catalog image's Dockerfile follows the standard", () => {
        const violations = checkCatalogDockerfiles();
        assert.deepStrictEqual(violations.map(formatViolation), []);
    });

    describe("the broken fixture", () => {
        const violations = checkDockerfile("tests/fixtures/dockerfiles/broken.Dockerfile", fs.readFileSync(FIXTURE, "utf8")).violations;
        const at = (rule: RuleId): number[] => violations.filter((v) => v.rule === rule).map((v) => v.line);

        it("makes every rule fire", () => {
            const fired = new Set(violations.map((v) => v.rule));
            assert.deepStrictEqual(Object.keys(RULES).filter((r) => !fired.has(r as RuleId)), []);
        });

        it("names the file and the line of each violation", () => {
            for (const v of violations) assert.match(formatViolation(v), /^tests\/fixtures\/dockerfiles\/broken\.Dockerfile:\d+: \[[a-z-]+\] .+/);
            assert.deepStrictEqual(at("pinned-base"), [3]);
            assert.deepStrictEqual(at("apt-cache-cleaned"), [5]);
            assert.deepStrictEqual(at("verified-downloads"), [6, 7]);
            assert.deepStrictEqual(at("expose-ports"), [3]);
            assert.deepStrictEqual(at("non-root-user"), [3]);
            assert.deepStrictEqual(at("apt-through-placeholders"), [16]);
            assert.deepStrictEqual(at("arg-not-shadowed"), [17]);
            assert.ok(at("healthcheck").every((l) => l === 13) && at("healthcheck").length === 3, `healthcheck lines: ${at("healthcheck")}`);
        });

        it("says what is wrong with labels: a literal value, an undeclared argument, a missing label", () => {
            const labels = violations.filter((v) => v.rule === "required-labels");
            assert.ok(labels.some((v) => v.line === 9 && /vendor is "Someone".*\$\{OCI_VENDOR\}/.test(v.message)));
            assert.ok(labels.some((v) => v.line === 9 && /does not declare ARG OCI_VERSION/.test(v.message)));
            assert.ok(labels.some((v) => v.line === 3 && /org\.opencontainers\.image\.licenses/.test(v.message)));
            assert.ok(!labels.some((v) => v.message.includes("image.title")), "the title label is set correctly in the fixture");
        });

        it("reports the wrong and the missing environment defaults", () => {
            const env = violations.filter((v) => v.rule === "standard-env").map((v) => v.message);
            assert.ok(env.some((m) => /DISPLAY_WIDTH is "1280".*DISPLAY_WIDTH=1920/.test(m)), env.join("\n"));
            assert.ok(env.some((m) => /TZ is not set.*TZ=UTC/.test(m)), env.join("\n"));
            assert.strictEqual(env.length, 2, env.join("\n"));
        });

        it("reports the health check's timings and its uninstalled tool", () => {
            const hc = violations.filter((v) => v.rule === "healthcheck").map((v) => v.message);
            assert.ok(hc.some((m) => /--interval is 60s.*--interval=30s/.test(m)));
            assert.ok(hc.some((m) => /--start-period is missing/.test(m)));
            assert.ok(hc.some((m) => /calls curl, which no apt-get install/.test(m)));
        });
    });

    it("refuses a user name, since Kubernetes runAsNonRoot needs a number", () => {
        const v = checkText(goodDockerfile().replace("USER 1000:1000", "USER streamspace"), { selkies: true });
        assert.deepStrictEqual(v.map((x) => x.rule), ["non-root-user"]);
        assert.match(v[0].message, /numeric uid/);
    });

    it("refuses a base reference pinned by tag only, also through the BASE_IMAGE default", () => {
        const v = checkText(goodDockerfile().replace(/^ARG BASE_IMAGE=.*$/m, "ARG BASE_IMAGE=debian:bookworm-slim"), { selkies: true });
        assert.deepStrictEqual(v.map((x) => `${x.line}:${x.rule}`), ["2:pinned-base"]);
    });

    it("accepts a download verified by sha256sum --check and refuses the same without it", () => {
        const download =
            "RUN curl -fsSL -o /tmp/tool.tgz https://example.org/tool-1.0.tgz \\\n" +
            `    && echo "${"0".repeat(64)}  /tmp/tool.tgz" | sha256sum --check --strict \\\n` +
            "    && tar -xzf /tmp/tool.tgz -C /opt && rm -f /tmp/tool.tgz\n";
        const base = goodDockerfile().replace("COPY rootfs/ /", `${download}COPY rootfs/ /`);
        assert.deepStrictEqual(checkText(base, { selkies: true }), []);
        const unverified = base.replace(/\| sha256sum --check --strict/g, "| cat");
        assert.deepStrictEqual(checkText(unverified, { selkies: true }).map((x) => x.rule), ["verified-downloads"]);
    });

    describe("a vendor's apt signing key", () => {
        const FPR = "EB4C1BFD4F042F6DDDCCEC917721F63BD38B4796";
        const withRun = (run: string) => goodDockerfile().replace("COPY rootfs/ /", `${run}COPY rootfs/ /`);

        it("is refused when the whole downloaded file becomes the keyring, even with its fingerprint checked first", () => {
            // A file carrying the published key plus another passes the --show-keys check; apt would trust both.
            const whole =
                "RUN curl -fsSL -o /tmp/key.asc https://vendor.example/key.asc \\\n" +
                `    && gpg --show-keys --with-colons /tmp/key.asc | awk -F: '$1 == "fpr" { print $10 }' | grep -qx ${FPR} \\\n` +
                "    && gpg --dearmor </tmp/key.asc >/usr/share/keyrings/vendor.gpg\n";
            const v = checkText(withRun(whole), { selkies: true });
            assert.deepStrictEqual(v.map((x) => x.rule), ["verified-downloads", "verified-downloads"]);
            assert.match(v[0].message, /streamspace-import-signing-key FILE\|URL FINGERPRINT KEYRING/);
            assert.match(v[1].message, /imports every key of a file into a keyring/);
            const aptKey = "RUN curl -fsSL https://vendor.example/key.asc | apt-key add -\n";
            assert.ok(checkText(withRun(aptKey), { selkies: true }).some((x) => /imports every key/.test(x.message)));
        });

        it("is accepted through streamspace-import-signing-key with the full fingerprint, from a URL or a downloaded file", () => {
            const url = `RUN streamspace-import-signing-key https://vendor.example/key.asc ${FPR} /usr/share/keyrings/vendor.gpg\n`;
            assert.deepStrictEqual(checkText(withRun(url), { selkies: true }), []);
            const downloaded = `RUN curl -fsSL -o /tmp/key.asc https://vendor.example/key.asc && streamspace-import-signing-key /tmp/key.asc ${FPR} /usr/share/keyrings/vendor.gpg\n`;
            assert.deepStrictEqual(checkText(withRun(downloaded), { selkies: true }), []);
            const shortId = downloaded.replace(FPR, FPR.slice(-16));
            assert.deepStrictEqual(checkText(withRun(shortId), { selkies: true }).map((x) => x.rule), ["verified-downloads"]);
        });
    });

    it("a RUN that runs an install script copied from the build context is checked with the script's text", () => {
        const context = fs.mkdtempSync(path.join(os.tmpdir(), "dockerfile-context-"));
        try {
            const run = "COPY install.sh /usr/local/share/streamspace/install.sh\nRUN APT_INSTALL=streamspace-apt-install bash /usr/local/share/streamspace/install.sh\n";
            const text = goodDockerfile().replace("COPY rootfs/ /", `${run}COPY rootfs/ /`);
            fs.writeFileSync(path.join(context, "install.sh"), "apt-get update\n\"${apt_install[@]}\" vlc\n");
            assert.deepStrictEqual(checkDockerfile("Dockerfile", text, { selkies: true, context }).violations.map((v) => v.rule), ["apt-cache-cleaned"]);
            fs.appendFileSync(path.join(context, "install.sh"), "curl -fsSL -o /tmp/key.asc https://vendor.example/key.asc\nrm -rf /var/lib/apt/lists/*\n");
            assert.deepStrictEqual(checkDockerfile("Dockerfile", text, { selkies: true, context }).violations.map((v) => v.rule), ["verified-downloads"]);
            fs.rmSync(path.join(context, "install.sh"));
            assert.throws(() => checkDockerfile("Dockerfile", text, { selkies: true, context }), /runs install\.sh of the build context, and there is no such file/);
        } finally {
            fs.rmSync(context, { recursive: true, force: true });
        }
    });

    it("every build of the catalog, LinuxServer flavours included, verifies its downloads", () => {
        // The catalog check covers each folder's standard build only; the flavours download too. A
        // shared Dockerfile is checked with each build context it runs in.
        const builds = loadCatalog(ROOT).images.map((i) => ({ file: path.join(i.folder, i.dockerfile), context: path.join(ROOT, i.folder) }));
        assert.ok(builds.some((b) => b.file === path.join("images", "app.kasmvnc.Dockerfile")), `no LinuxServer flavour among ${builds.map((b) => b.file).join(", ")}`);
        const unverified = builds.flatMap((b) =>
            checkDockerfile(b.file, fs.readFileSync(path.join(ROOT, b.file), "utf8"), { context: b.context })
                .violations.filter((v) => v.rule === "verified-downloads")
                .map(formatViolation),
        );
        assert.deepStrictEqual(unverified, []);
    });

    it("every Dockerfile under images/ is one a catalog image builds with", () => {
        const used = new Set(loadCatalog(ROOT).images.map((i) => path.join(i.folder, i.dockerfile)));
        const onDisk = fs.readdirSync(path.join(ROOT, "images"), { withFileTypes: true }).flatMap((e) =>
            e.isDirectory()
                ? fs.readdirSync(path.join(ROOT, "images", e.name)).filter((f) => /^Dockerfile(\..+)?$/.test(f)).map((f) => path.join("images", e.name, f))
                : /\.Dockerfile$/.test(e.name) ? [path.join("images", e.name)] : [],
        );
        assert.deepStrictEqual(onDisk.filter((f) => !used.has(f)), []);
    });

    it("a catalog child inherits health check, ports, env and user from its base but not its labels", () => {
        const base = checkDockerfile("base", goodDockerfile(), { selkies: true });
        const child = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n";
        const v = checkDockerfile("child", child, { selkies: true, inherited: base.facts }).violations;
        assert.deepStrictEqual([...new Set(v.map((x) => x.rule))], ["required-labels"]);
    });

    it("refuses a build argument named like an ENV the base sets (the ENV would win), and accepts ARG then ENV of one name", () => {
        const base = checkDockerfile("base", goodDockerfile(), { selkies: true });
        const shadowed = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG APP_WINDOW_CLASS\nENV APP_WINDOW_CLASS=${APP_WINDOW_CLASS}\n";
        const v = checkDockerfile("child", shadowed, { selkies: true, inherited: base.facts }).violations.filter((x) => x.rule === "arg-not-shadowed");
        assert.deepStrictEqual(v.map(formatViolation), [
            "child:3: [arg-not-shadowed] ARG APP_WINDOW_CLASS: an ENV APP_WINDOW_CLASS is already set (to ''), and ENV wins over ARG, so the build argument would be ignored; give the argument another name",
        ]);
        const renamed = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG APP_WINDOW\nENV APP_WINDOW_CLASS=${APP_WINDOW}\nARG OWN\nENV OWN=${OWN}\n";
        assert.deepStrictEqual(checkDockerfile("child", renamed, { selkies: true, inherited: base.facts }).violations.filter((x) => x.rule === "arg-not-shadowed"), []);
    });

    it("a child of a base with placeholders must install through streamspace-apt-install", () => {
        const base = checkDockerfile("base", goodDockerfile(), { selkies: true });
        assert.strictEqual(base.facts.aptPlaceholders, true, "selkies-base installs the placeholder package");
        const child = (install: string) =>
            `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nUSER root\nRUN apt-get update && ${install} gimp && rm -rf /var/lib/apt/lists/*\nUSER 1000:1000\n`;
        const rules = (text: string) => checkDockerfile("child", text, { selkies: true, inherited: base.facts }).violations.map((v) => `${v.line}:${v.rule}`);
        assert.ok(rules(child("apt-get install -y --no-install-recommends")).includes("4:apt-through-placeholders"));
        assert.ok(!rules(child("streamspace-apt-install")).some((r) => r.endsWith("apt-through-placeholders")));
        // A builder stage on another image is not affected.
        const builder = `FROM debian@sha256:${"a".repeat(64)} AS build\nRUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*\n` + child("streamspace-apt-install");
        assert.ok(!rules(builder).some((r) => r.endsWith("apt-through-placeholders")));
    });

    it("counts packages streamspace-apt-install installs as installed (the health check's tool)", () => {
        const base = checkDockerfile("base", goodDockerfile(), { selkies: true });
        assert.ok(base.facts.packages.has("curl"));
        const own = "FROM debian@sha256:" + "b".repeat(64) + "\nRUN streamspace-apt-install curl && rm -rf /var/lib/apt/lists/*\n";
        assert.ok(checkDockerfile("own", own).facts.packages.has("curl"));
    });

    it("selkies-base's BASE_IMAGE default is the digest its metadata names", () => {
        const meta = parse(fs.readFileSync(path.join(ROOT, "images/selkies-base/image.yaml"), "utf8")) as { base: { external: string } };
        const arg = /^ARG BASE_IMAGE=(.+)$/m.exec(goodDockerfile())?.[1];
        assert.strictEqual(arg, meta.base.external);
    });
});

describe("image standard: images/README.md", () => {
    let rows: string[][] = [];
    before(() => {
        const readme = fs.readFileSync(path.join(ROOT, "images/README.md"), "utf8");
        rows = readme.split("\n").filter((l) => l.startsWith("|")).map((l) => l.split("|").map((c) => c.trim()));
    });

    it("lists every standard port with its number", () => {
        for (const p of STANDARD_PORTS) {
            assert.ok(rows.some((r) => r.includes(String(p.port)) && r.some((c) => c.includes(p.protocol))), `no table row for port ${p.port} (${p.protocol})`);
        }
    });

    it("lists every standard variable with the default the images set", () => {
        for (const e of [...STANDARD_ENV, ...SELKIES_ENV]) {
            const row = rows.find((r) => r.includes(`\`${e.name}\``));
            assert.ok(row, `no table row for ${e.name}`);
            const expected = e.default === undefined ? "(none)" : `\`${e.default}\``;
            assert.ok(row.includes(expected), `${e.name}: the README says ${row.join(" | ")}, the standard default is ${expected}`);
        }
    });
});
