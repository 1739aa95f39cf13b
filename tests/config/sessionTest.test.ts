import { strict as assert } from "assert";
import { ConfigError, Problem, parseStackConfig } from "../../config";
import { sessionTestCatalogProblems, sessionTestImages, withSessionTestImages } from "../../config/sessionTest";
import { Catalog, CatalogImage, loadCatalog } from "../../catalog";
import { valueOf } from "../harness";

const imageNames = ["selkies-base", "chrome-selkies", "stream-probe", "coturn"];
const local = { registryServer: "localhost:5001" };

function parse(raw: Record<string, string>) {
    return parseStackConfig({ ...local, ...raw }, { stack: "dev", imageNames });
}

function problemsOf(raw: Record<string, string>): Problem[] {
    try {
        parse(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("the configuration was accepted");
}

function onlyProblem(raw: Record<string, string>): Problem {
    const problems = problemsOf(raw);
    assert.equal(problems.length, 1, problems.map((p) => `${p.key}: ${p.message}`).join("\n"));
    return problems[0];
}

describe("sessionTest configuration", () => {
    it("defaults: chrome-selkies at 1920x1080, 2Gi /dev/shm, over WebSockets (no TURN), 20 s at 10 fps or more", () => {
        const c = parse({}).sessionTest;
        assert.equal(c.enabled, true);
        assert.equal(c.image, "chrome-selkies");
        assert.equal(c.namespace, "streamspace-session-test");
        assert.equal(c.user, "user");
        assert.equal(c.password, undefined);
        assert.deepEqual(c.display, { width: 1920, height: 1080, dpi: 96 });
        assert.equal(c.shmSize, "2Gi");
        assert.deepEqual(c.resources, { cpuRequest: "1", cpuLimit: "4", memoryRequest: "2Gi", memoryLimit: "8Gi" });
        assert.equal(c.transport, "websockets");
        assert.deepEqual(c.probe, { seconds: 20, minFps: 10, screenshotLog: false });
        assert.equal(c.timeoutMinutes, 20);
    });

    it("reads numbers and booleans as the Pulumi CLI hands them over", () => {
        const c = parse({
            sessionTestDisplayWidth: "1280",
            sessionTestDisplayHeight: "720",
            sessionTestTransport: "webrtc",
            sessionTestProbeMinFps: "30",
            sessionTestProbeScreenshotLog: "true",
        }).sessionTest;
        assert.deepEqual(c.display, { width: 1280, height: 720, dpi: 96 });
        assert.equal(c.transport, "webrtc");
        assert.equal(c.probe.minFps, 30);
        assert.equal(c.probe.screenshotLog, true);
    });

    it("takes the private ranges a session may reach as CIDRs, and names the ones that are not", () => {
        assert.deepEqual(parse({}).sessionTest.allowedPrivateEgress, []);
        assert.deepEqual(parse({ sessionTestAllowedPrivateEgress: '["10.20.0.0/16", " fd12:3456::/48"]' }).sessionTest.allowedPrivateEgress, ["10.20.0.0/16", "fd12:3456::/48"]);
        const p = onlyProblem({ sessionTestAllowedPrivateEgress: '["10.20.0.0/16", "10.1.2.3", "proxy.internal/32", "10.0.0.0/33"]' });
        assert.equal(p.key, "sessionTestAllowedPrivateEgress");
        assert.match(p.message, /^'10\.1\.2\.3', 'proxy\.internal\/32', '10\.0\.0\.0\/33': expected networks in CIDR notation/);
    });

    it("keeps a configured password a secret", async () => {
        const c = parse({ sessionTestPassword: "a-long-enough-password" }).sessionTest;
        assert.ok(c.password);
        assert.equal(await valueOf(c.password), "a-long-enough-password");
    });

    describe("bad values, each named with what is allowed and a fix", () => {
        it("an unknown image name", () => {
            const p = onlyProblem({ sessionTestImage: "chrome" });
            assert.equal(p.key, "sessionTestImage");
            assert.equal(p.value, "chrome");
            assert.match(p.message, /unknown image; the catalog has: selkies-base, chrome-selkies/);
            assert.equal(p.fix, "pulumi config set sessionTestImage chrome-selkies --stack dev");
        });

        it("an unknown transport, with the lowercase name in the fix when that is one", () => {
            const p = onlyProblem({ sessionTestTransport: "WebRTC" });
            assert.equal(p.key, "sessionTestTransport");
            assert.equal(p.value, "WebRTC");
            assert.match(p.message, /expected websockets or webrtc/);
            assert.equal(p.fix, "pulumi config set sessionTestTransport webrtc --stack dev");
            assert.equal(onlyProblem({ sessionTestTransport: "vnc" }).fix, "pulumi config set sessionTestTransport websockets --stack dev");
        });

        it("an odd resolution, with the next even number in the fix", () => {
            const p = onlyProblem({ sessionTestDisplayWidth: "1921" });
            assert.equal(p.key, "sessionTestDisplayWidth");
            assert.match(p.message, /even number of pixels/);
            assert.equal(p.fix, "pulumi config set sessionTestDisplayWidth 1922 --stack dev");
        });

        it("a resolution out of range or not a number", () => {
            assert.match(onlyProblem({ sessionTestDisplayHeight: "100" }).message, /at least 480/);
            assert.match(onlyProblem({ sessionTestDisplayWidth: "8000" }).message, /at most 7680/);
            assert.match(onlyProblem({ sessionTestDisplayWidth: "1080p" }).message, /whole number/);
        });

        it("a /dev/shm too small for Chrome", () => {
            const p = onlyProblem({ sessionTestShmSize: "16Mi" });
            assert.equal(p.key, "sessionTestShmSize");
            assert.match(p.message, /at least 64Mi/);
        });

        it("a /dev/shm that does not fit in the memory limit it is charged to", () => {
            const p = onlyProblem({ sessionTestShmSize: "8Gi", sessionTestMemoryLimit: "4Gi" });
            assert.equal(p.key, "sessionTestShmSize");
            assert.match(p.message, /counts against the memory limit \(sessionTestMemoryLimit = 4Gi\)/);
        });

        it("a /dev/shm size that is not a quantity", () => {
            const p = onlyProblem({ sessionTestShmSize: "2GB" });
            assert.match(p.message, /Kubernetes quantity such as 500m, 2, 512Mi or 4Gi/);
        });

        it("negative or zero resources", () => {
            const negative = onlyProblem({ sessionTestCpuRequest: "-1" });
            assert.equal(negative.key, "sessionTestCpuRequest");
            assert.match(negative.message, /must not be negative/);
            assert.match(onlyProblem({ sessionTestMemoryLimit: "-4Gi" }).message, /must not be negative/);
            assert.match(onlyProblem({ sessionTestCpuLimit: "0" }).message, /greater than zero/);
        });

        it("a request above its limit", () => {
            const p = onlyProblem({ sessionTestMemoryRequest: "16Gi" });
            assert.equal(p.key, "sessionTestMemoryRequest");
            assert.match(p.message, /larger than the limit \(sessionTestMemoryLimit = 8Gi\)/);
            assert.equal(p.fix, "pulumi config set sessionTestMemoryRequest 8Gi --stack dev");
            assert.equal(onlyProblem({ sessionTestCpuRequest: "5", sessionTestCpuLimit: "4500m" }).key, "sessionTestCpuRequest");
        });

        it("a namespace Kubernetes would refuse, with a usable one in the fix", () => {
            const p = onlyProblem({ sessionTestNamespace: "Session_Test" });
            assert.equal(p.key, "sessionTestNamespace");
            assert.equal(p.fix, "pulumi config set sessionTestNamespace session-test --stack dev");
        });

        it("a user name basic auth cannot carry", () => {
            assert.equal(onlyProblem({ sessionTestUser: "a:b" }).key, "sessionTestUser");
        });

        it("a short password, without showing it", () => {
            const p = onlyProblem({ sessionTestPassword: "hunter2" });
            assert.equal(p.key, "sessionTestPassword");
            assert.equal(p.value, "(secret)");
            assert.match(p.message, /at least 12 characters/);
            assert.match(p.fix, /--secret/);
        });

        it("probe settings out of range", () => {
            assert.match(onlyProblem({ sessionTestProbeSeconds: "1" }).message, /at least 5/);
            assert.match(onlyProblem({ sessionTestProbeMinFps: "0" }).message, /at least 1/);
            assert.match(onlyProblem({ sessionTestTimeoutMinutes: "2" }).message, /at least 5/);
        });

        it("a disabled session test is not checked (it creates nothing)", () => {
            const c = parse({ sessionTestEnabled: "false", sessionTestImage: "nonexistent", sessionTestDisplayWidth: "1921" }).sessionTest;
            assert.equal(c.enabled, false);
        });
    });
});

describe("sessionTest and the catalog", () => {
    let catalog: Catalog;
    before(() => {
        catalog = loadCatalog();
    });
    const config = (raw: Record<string, string> = {}) => parse(raw).sessionTest;

    it("needs the session image, stream-probe and, over WebRTC, coturn", () => {
        assert.deepEqual(sessionTestImages(config()), ["chrome-selkies", "stream-probe"]);
        assert.deepEqual(sessionTestImages(config({ sessionTestTransport: "webrtc" })), ["chrome-selkies", "stream-probe", "coturn"]);
        assert.deepEqual(sessionTestImages(config({ sessionTestEnabled: "false" })), []);
    });

    it("adds them to a named selection, and leaves 'every image' alone", () => {
        assert.deepEqual(withSessionTestImages(["selkies-base"], config()), ["selkies-base", "chrome-selkies", "stream-probe"]);
        assert.deepEqual(withSessionTestImages(["selkies-base"], config({ sessionTestTransport: "webrtc" })), ["selkies-base", "chrome-selkies", "stream-probe", "coturn"]);
        assert.deepEqual(withSessionTestImages([], config()), []);
        assert.deepEqual(withSessionTestImages(["chrome-selkies"], config({ sessionTestEnabled: "false" })), ["chrome-selkies"]);
    });

    it("accepts the catalog's Selkies session images", () => {
        const built = catalog.images.map((i) => i.name);
        assert.deepEqual(sessionTestCatalogProblems(config(), catalog, built, "dev"), []);
    });

    it("refuses an image that does not stream with Selkies, naming the ones it can probe", () => {
        const fake: Catalog = withImage(catalog, { name: "firefox-kasmvnc", kind: "session", streamingProtocol: "kasmvnc" });
        const built = fake.images.map((i) => i.name);
        const c = parseStackConfig(
            { ...local, sessionTestImage: "firefox-kasmvnc" },
            { stack: "dev", imageNames: built },
        ).sessionTest;
        const [p] = sessionTestCatalogProblems(c, fake, built, "dev");
        assert.equal(p.key, "sessionTestImage");
        assert.match(p.message, /probe speaks Selkies' WebRTC protocol, but 'firefox-kasmvnc' is a session image streaming with kasmvnc/);
        assert.match(p.message, /images it can probe: .*chrome-selkies/);
        assert.match(p.fix, /pulumi config set sessionTestImage chrome-selkies --stack dev/);
    });

    it("refuses a base or tool image", () => {
        const built = catalog.images.map((i) => i.name);
        const c = parseStackConfig({ ...local, sessionTestImage: "selkies-base" }, { stack: "dev", imageNames: built }).sessionTest;
        const [p] = sessionTestCatalogProblems(c, catalog, built, "dev");
        assert.match(p.message, /'selkies-base' is a base image/);
    });

    it("says so when the stack's platform leaves out an image the test needs", () => {
        const built = catalog.images.map((i) => i.name).filter((n) => n !== "stream-probe");
        const [p] = sessionTestCatalogProblems(config(), catalog, built, "dev");
        assert.equal(p.key, "sessionTestEnabled");
        assert.match(p.message, /needs the image 'stream-probe'/);
        assert.match(p.fix, /sessionTestEnabled false/);
    });
});

function withImage(catalog: Catalog, extra: Pick<CatalogImage, "name" | "kind" | "streamingProtocol">): Catalog {
    const template = catalog.get("chrome-selkies");
    const images = [...catalog.images, { ...template, ...extra, metadataFile: `images/${extra.name}/image.yaml` }];
    return { ...catalog, images, get: (n) => images.find((i) => i.name === n)! };
}
