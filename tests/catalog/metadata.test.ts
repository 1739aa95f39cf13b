import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CatalogError, buildArgs, installSettings, loadCatalog } from "../../catalog";
import { BASE_YAML, DIGEST, DOCKERFILE, KASMVNC_VARIANT, appYaml, fixtureCatalog, validCatalog } from "./fixtures";

/** The problems loadCatalog reports for a catalog root; fails when it reports none. */
function problemsOf(root: string): string[] {
    try {
        loadCatalog(root);
    } catch (e) {
        assert.ok(e instanceof CatalogError, `expected a CatalogError, got ${String(e)}`);
        assert.match(e.message, /nothing was created or changed/);
        return e.problems;
    }
    assert.fail("the catalog was accepted");
}

function withApp(yaml: string, files: Record<string, string> = {}): string {
    return fixtureCatalog({
        base: { "image.yaml": BASE_YAML, Dockerfile: DOCKERFILE },
        app: { "image.yaml": yaml, Dockerfile: DOCKERFILE, "Dockerfile.kasmvnc": DOCKERFILE, ...files },
    });
}

describe("catalog metadata", () => {
    it("a valid catalog expands a variant into <app>-<variant>, built after its app's base", () => {
        const catalog = loadCatalog(validCatalog());
        assert.deepEqual(catalog.images.map((i) => i.name), ["base", "app", "app-kasmvnc"]);
        const flavour = catalog.get("app-kasmvnc");
        assert.equal(flavour.variantOf, "app");
        assert.equal(flavour.dockerfile, "Dockerfile.kasmvnc");
        assert.equal(flavour.streamingProtocol, "kasmvnc");
        assert.deepEqual(flavour.ports.map((p) => p.port), [3000]);
        assert.deepEqual(flavour.base, { external: `lscr.io/linuxserver/baseimage-kasmvnc:debianbookworm@sha256:${DIGEST}` });
        // What the variant does not override comes from its app.
        assert.equal(flavour.version, "1.2.3");
        assert.deepEqual(flavour.tags, ["tool"]);
        assert.deepEqual(catalog.get("app").variants, ["app-kasmvnc"]);
    });

    it("unknown base: names the file, the field and the images there are", () => {
        const problems = problemsOf(withApp(appYaml().replace("base: { image: base }", "base: { image: selkies-bsae }")));
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^images\/app\/image\.yaml:5: field 'base\.image': unknown catalog image 'selkies-bsae'; the catalog has: app, base$/);
    });

    it("unknown base of a variant says which variant", () => {
        const yaml = appYaml(KASMVNC_VARIANT.replace(/base: \{ external: [^}]+\}/, "base: { image: nothing }"));
        const problems = problemsOf(withApp(yaml));
        // The line of the variant's own base, not the image's.
        const line = yaml.split("\n").findIndex((l) => l.includes("base: { image: nothing }")) + 1;
        assert.match(problems.join("\n"), new RegExp(`images/app/image\\.yaml:${line}: field 'base\\.image': unknown catalog image 'nothing' \\(variant 'app-kasmvnc'\\)`));
    });

    it("duplicate name: a variant colliding with another folder", () => {
        const root = withApp(appYaml(KASMVNC_VARIANT));
        fs.mkdirSync(path.join(root, "images", "app-kasmvnc"));
        fs.writeFileSync(path.join(root, "images", "app-kasmvnc", "image.yaml"), appYaml());
        fs.writeFileSync(path.join(root, "images", "app-kasmvnc", "Dockerfile"), DOCKERFILE);
        const problems = problemsOf(root);
        assert.match(problems.join("\n"), /image name 'app-kasmvnc' is also used by images\/app(-kasmvnc)?\/image\.yaml; names must be unique/);
    });

    it("port clash: the same port twice in an image, or in a variant", () => {
        const twice = appYaml().replace("{ name: vnc, port: 5900 }", "{ name: vnc, port: 8080 }");
        assert.match(problemsOf(withApp(twice)).join("\n"), /images\/app\/image\.yaml:9: image 'app': port 8080\/TCP is declared twice \('selkies' and 'vnc'\)/);

        const variant = appYaml(KASMVNC_VARIANT.replace("      - { name: kasmvnc, port: 3000 }", "      - { name: kasmvnc, port: 3000 }\n      - { name: https, port: 3000 }"));
        assert.match(problemsOf(withApp(variant)).join("\n"), /image 'app-kasmvnc': port 3000\/TCP is declared twice \('kasmvnc' and 'https'\)/);

        const sameName = appYaml().replace("{ name: vnc, port: 5900 }", "{ name: selkies, port: 5900 }");
        assert.match(problemsOf(withApp(sameName)).join("\n"), /port name 'selkies' is used twice/);
    });

    it("unknown protocol: says which values are allowed, with the line", () => {
        const problems = problemsOf(withApp(appYaml().replace("streamingProtocol: selkies", "streamingProtocol: rdp")));
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^images\/app\/image\.yaml:11: field 'streamingProtocol': .*'selkies' \| 'vnc' \| 'kasmvnc' \| 'none'.*'rdp'/);

        const inVariant = problemsOf(withApp(appYaml(KASMVNC_VARIANT.replace("streamingProtocol: kasmvnc", "streamingProtocol: guacamole"))));
        assert.match(inVariant.join("\n"), /field 'variants\.0\.streamingProtocol': .*'guacamole'/);
    });

    it("missing metadata file: names the folder and where the format is described", () => {
        const root = validCatalog();
        fs.rmSync(path.join(root, "images", "app", "image.yaml"));
        assert.deepEqual(problemsOf(root), [
            'images/app/image.yaml: missing. Every folder under images/ needs its metadata file (see images/README.md, "Adding an image").',
        ]);
    });

    it("a variant whose Dockerfile is missing names the file", () => {
        const root = validCatalog();
        fs.rmSync(path.join(root, "images", "app", "Dockerfile.kasmvnc"));
        assert.match(problemsOf(root).join("\n"), /images\/app\/image\.yaml:15: variant 'kasmvnc': images\/app\/Dockerfile\.kasmvnc is missing/);
    });

    it("bad YAML: file, line and column", () => {
        const problems = problemsOf(withApp(appYaml().replace("gpu: none", "gpu: [none")));
        // One problem: a file that does not parse has no fields to check.
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^images\/app\/image\.yaml:\d+:\d+: not valid YAML: /);
    });

    it("an external base without a digest is refused, naming the pinned form", () => {
        const yaml = appYaml(KASMVNC_VARIANT.replace(`@sha256:${DIGEST}`, ""));
        assert.match(problemsOf(withApp(yaml)).join("\n"), /images\/app\/image\.yaml:16: field 'variants\.0\.base\.external': an external base must be pinned by digest: <name>:<tag>@sha256:<64 hex digits>/);
    });

    it("unknown fields are named, with where the fields are listed", () => {
        const problems = problemsOf(withApp(appYaml("flavours: [kasmvnc]\n")));
        assert.match(problems.join("\n"), /images\/app\/image\.yaml: field '\(top level\)': unknown field 'flavours'; the fields are listed in images\/README\.md/);
    });

    it("reports every problem of every file at once", () => {
        const root = fixtureCatalog({
            base: { "image.yaml": BASE_YAML, Dockerfile: DOCKERFILE },
            one: { "image.yaml": appYaml().replace("streamingProtocol: selkies", "streamingProtocol: rdp"), Dockerfile: DOCKERFILE },
            two: { "image.yaml": appYaml().replace("base: { image: base }", "base: { image: gone }"), Dockerfile: DOCKERFILE },
        });
        const problems = problemsOf(root).join("\n");
        assert.match(problems, /images\/one\/image\.yaml.*streamingProtocol/);
        assert.match(problems, /images\/two\/image\.yaml.*unknown catalog image 'gone'/);
    });
});

describe("catalog metadata: applications on the shared Dockerfiles", () => {
    const APP = `app:
  name: App
  windowClass: "app|app-bin"
  platformInstall:
    linux/arm64: { FLAVOUR: small }
`;
    const FLAVOUR = KASMVNC_VARIANT.replace("    dockerfile: Dockerfile.kasmvnc\n", "");
    /** A base and an app folder with image.yaml and install.sh only. */
    const appOnly = (yaml: string) =>
        fixtureCatalog({ base: { "image.yaml": BASE_YAML, Dockerfile: DOCKERFILE }, app: { "image.yaml": yaml, "install.sh": "true\n" } });
    const source = { revision: "r", created: "1970-01-01T00:00:00Z" };

    it("an app folder without Dockerfiles builds with images/app.Dockerfile, its LinuxServer flavour with images/app.kasmvnc.Dockerfile", () => {
        const catalog = loadCatalog(appOnly(appYaml(APP + FLAVOUR).replace("platforms: [linux/amd64]", "platforms: [linux/amd64, linux/arm64]")));
        assert.equal(catalog.get("app").dockerfile, "../app.Dockerfile");
        assert.equal(catalog.get("app-kasmvnc").dockerfile, "../app.kasmvnc.Dockerfile");
        assert.equal(catalog.get("base").dockerfile, "Dockerfile");
    });

    it("passes the window, the name and the install settings of the platform as build arguments; the flavour gets no window", () => {
        const root = appOnly(appYaml(APP + FLAVOUR).replace("platforms: [linux/amd64]", "platforms: [linux/amd64, linux/arm64]"));
        const catalog = loadCatalog(root);
        const app = (platform: "linux/amd64" | "linux/arm64", name = "app") =>
            Object.fromEntries(Object.entries(buildArgs(catalog.get(name), { platform, baseImage: "b", source, sourceUrl: "u" })).filter(([k]) => k.startsWith("APP_")));
        assert.deepStrictEqual(app("linux/amd64"), { APP_WINDOW: "app|app-bin", APP_NAME: "App", APP_INSTALL_ENV: "" });
        assert.deepStrictEqual(app("linux/arm64"), { APP_WINDOW: "app|app-bin", APP_NAME: "App", APP_INSTALL_ENV: "FLAVOUR=small" });
        assert.deepStrictEqual(app("linux/amd64", "app-kasmvnc"), { APP_NAME: "App", APP_INSTALL_ENV: "" });
    });

    it("an offline build takes image.yaml's offline install settings over the platform's, in key order", () => {
        const yaml = appYaml(`${APP.replace("{ FLAVOUR: small }", "{ FLAVOUR: small, ARCH: arm }")}offline:\n  install: { FLAVOUR: debian }\n  leavesOut: the vendor's build\n`).replace(
            "platforms: [linux/amd64]",
            "platforms: [linux/amd64, linux/arm64]",
        );
        const app = loadCatalog(appOnly(yaml)).get("app");
        assert.equal(installSettings(app, "linux/arm64"), "ARCH=arm FLAVOUR=small");
        assert.equal(installSettings(app, "linux/arm64", true), "ARCH=arm FLAVOUR=debian");
        assert.equal(installSettings(app, "linux/amd64", true), "FLAVOUR=debian");
        assert.deepStrictEqual(app.offline, { install: { FLAVOUR: "debian" }, leavesOut: "the vendor's build" });
    });

    it("a folder with neither a Dockerfile nor `app:` names both ways out", () => {
        const problems = problemsOf(appOnly(appYaml()));
        assert.deepStrictEqual(problems, ["images/app/Dockerfile: missing (an application on images/app.Dockerfile or images/app.kasmvnc.Dockerfile declares `app:` in image.yaml instead)"]);
    });

    it("refuses an install setting that is not one word, a window class with spaces, and offline facts that mix both kinds", () => {
        const problems = problemsOf(
            appOnly(
                appYaml(`app:\n  name: App\n  windowClass: "app window"\n  platformInstall:\n    linux/amd64: { FLAVOUR: "two words" }\noffline:\n  needsInternet: why\n  leavesOut: what\n`),
            ),
        ).join("\n");
        assert.match(problems, /app\.windowClass.*expected WM_CLASS names separated by \|/);
        assert.match(problems, /app\.platformInstall\.linux\/amd64\.FLAVOUR.*expected one word/);
        assert.match(problems, /field 'offline': unknown field 'leavesOut'/);
    });
});
