import { strict as assert } from "assert";
import { buildArgs, loadCatalog } from "../../catalog";
import { REQUIRED_LABELS } from "../../catalog/imageStandard";
import { assertNoViolation, assertOneViolation } from "./assertions";
import { CONFIG } from "./fixtures";
import { AdaptedResource, resourceViolations } from "./policyArgsAdapter";

/** A docker.Image as SessionImage registers it, with the catalog's real build arguments. */
function image(change: (props: Record<string, any>) => void = () => undefined): AdaptedResource {
    const chrome = loadCatalog().get("chrome-selkies");
    const props: Record<string, any> = {
        imageName: "ghcr.io/streamspace-dev/chrome-selkies:main",
        registry: { server: "ghcr.io", username: "streamspace-dev", password: "test-double-token" },
        build: {
            context: chrome.folder,
            args: buildArgs(chrome, {
                platform: "linux/amd64",
                baseImage: "ghcr.io/streamspace-dev/selkies-base@sha256:" + "cd".repeat(32),
                source: { revision: "0123456789abcdef0123456789abcdef01234567", created: "2025-01-01T00:00:00Z" },
                sourceUrl: "https://github.com/streamspace-dev/streamspace-images",
            }),
        },
    };
    change(props);
    return { type: "docker:index/image:Image", name: "chrome-selkies", props };
}

describe("policy: images", () => {
    describe("image-registry (mandatory)", () => {
        it("accepts an image named <registryServer>/<registryOwner>/<image>:<tag>", async () => {
            assertNoViolation(await resourceViolations("image-registry", image(), CONFIG));
        });
        it("refuses an image pushed to another owner, naming the expected prefix", async () => {
            const v = await resourceViolations("image-registry", image((p) => (p.imageName = "ghcr.io/someone-else/chrome-selkies:main")), CONFIG);
            assertOneViolation(v, 'docker.Image "chrome-selkies"', /imageName "ghcr\.io\/someone-else\/chrome-selkies:main" is outside the stack's registry and owner ghcr\.io\/streamspace-dev\//, /SessionImage.*pulumi config set registryServer/);
        });
        it("refuses credentials of another registry, which would push there", async () => {
            const v = await resourceViolations("image-registry", image((p) => (p.registry.server = "docker.io")), CONFIG);
            assertOneViolation(v, 'docker.Image "chrome-selkies"', /logs in to the registry docker\.io, not the stack's ghcr\.io/, /ghcr\.io\/streamspace-dev\/<image>:<tag>/);
        });
        it("checks the extra tags of a release too (docker.Tag, docker.RegistryImage)", async () => {
            const tag = { type: "docker:index/tag:Tag", name: "chrome-selkies-latest", props: { sourceImage: "x", targetImage: "docker.io/streamspace-dev/chrome-selkies:latest" } };
            assertOneViolation(await resourceViolations("image-registry", tag, CONFIG), 'docker.Tag "chrome-selkies-latest"', /targetImage "docker\.io\//, /SessionImage/);
            const pushed = { type: "docker:index/registryImage:RegistryImage", name: "chrome-selkies-latest", props: { name: "ghcr.io/streamspace-dev/chrome-selkies:latest" } };
            assertNoViolation(await resourceViolations("image-registry", pushed, CONFIG));
        });
    });

    describe("image-oci-labels (mandatory)", () => {
        it("accepts the catalog's build arguments, which carry every OCI label", async () => {
            assertNoViolation(await resourceViolations("image-oci-labels", image(), CONFIG));
            assert.ok(REQUIRED_LABELS.length >= 10, "the image standard lists the OCI labels");
        });
        it("refuses an image built without OCI_REVISION or with an empty OCI_LICENSES, naming args and labels", async () => {
            const v = await resourceViolations(
                "image-oci-labels",
                image((p) => {
                    delete p.build.args.OCI_REVISION;
                    p.build.args.OCI_LICENSES = " ";
                }),
                CONFIG,
            );
            assertOneViolation(
                v,
                'docker.Image "chrome-selkies"',
                /build arguments OCI_REVISION, OCI_LICENSES, so its labels org\.opencontainers\.image\.revision, org\.opencontainers\.image\.licenses would be empty/,
                /buildArgs\(\)/,
            );
        });
    });
});
