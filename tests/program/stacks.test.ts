import { strict as assert } from "assert";
import { byType, runProgram, stackNames } from "../harness";

describe("stack files", () => {
    it("the repository has the dev, staging and prod stacks", () => {
        assert.deepEqual(stackNames(), ["dev", "prod", "staging"]);
    });

    for (const stack of stackNames()) {
        it(`Pulumi.${stack}.yaml evaluates cleanly`, async () => {
            const run = await runProgram({ stack, env: { GHCR_TOKEN: "test-double-token" } });
            assert.equal(run.error, undefined, run.error?.message);
            assert.ok(byType(run, "docker:index/image:Image").length > 0, "no image was registered");
        });
    }
});
