/**
 * planImages: what a stack builds, and every reason it cannot, in one report.
 */
import { strict as assert } from "assert";
import { ConfigError } from "../../config";
import { runProgram } from "../harness";

describe("planImages (through the program)", () => {
    it("an image the platform cannot build and a session test without its image: both in one error, before any resource", async () => {
        const run = await runProgram({
            stack: "dev",
            config: { imagePlatform: "linux/arm64", images: ["chrome-selkies-kasmvnc"], sessionTestImage: "coturn" },
        });
        assert.ok(run.error, "the update went ahead");
        assert.equal(run.error.name, "ConfigError");
        const problems = (run.error as unknown as ConfigError).problems ?? [];
        assert.deepEqual(problems.map((p) => p.key), ["images", "sessionTestImage"], run.error.message);
        assert.match(problems[0].message, /^cannot be built for linux\/arm64: /);
        assert.match(problems[1].message, /the probe speaks Selkies' WebRTC protocol, but 'coturn' is a tool image/);
        assert.deepEqual(run.resources, []);
    });

    it("the dev stack builds the session image, its base and the probe, the base first", async () => {
        const run = await runProgram({ stack: "dev" });
        assert.equal(run.error, undefined, run.error?.message);
        const built = run.resources.filter((r) => r.type === "docker:index/image:Image").map((r) => r.name);
        assert.deepEqual([...built].sort(), ["chrome-selkies", "selkies-base", "stream-probe"]);
        assert.ok(built.indexOf("selkies-base") < built.indexOf("chrome-selkies"), `the base after the image on it: ${built.join(", ")}`);
    });
});
