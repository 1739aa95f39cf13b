import { REQUIRED_LABELS } from "../../catalog/imageStandard";
import { StackFacts } from "../facts";
import { CheckedResource, describe, violation } from "../resources";

export const IMAGE_TYPE = "docker:index/image:Image";
const TAG_TYPE = "docker:index/tag:Tag";
const REGISTRY_IMAGE_TYPE = "docker:index/registryImage:RegistryImage";

/** The resource types that name an image in a registry, with the input that names it. */
export const IMAGE_REFERENCE_INPUTS: Record<string, string> = {
    [IMAGE_TYPE]: "imageName",
    [TAG_TYPE]: "targetImage",
    [REGISTRY_IMAGE_TYPE]: "name",
};

/** Every image goes to the stack's registry, under its owner. */
export function imageRegistry(resource: CheckedResource, facts: Pick<StackFacts, "stack" | "registryServer" | "registryOwner">): string[] {
    const input = IMAGE_REFERENCE_INPUTS[resource.type];
    if (!input) return [];
    const prefix = `${facts.registryServer}/${facts.registryOwner}/`;
    const fix = `name it ${prefix}<image>:<tag> (SessionImage of components/sessionImage.ts does), or, if the stack's registry is what is wrong: pulumi config set registryServer <host> --stack ${facts.stack} and pulumi config set registryOwner <owner> --stack ${facts.stack}`;
    const out: string[] = [];
    const reference = String(resource.props[input] ?? "");
    if (!reference.startsWith(prefix)) {
        out.push(violation(describe(resource), `${input} "${reference}" is outside the stack's registry and owner ${prefix}`, fix));
    }
    // Credentials of another registry would push there whatever the name says.
    const server = resource.type === IMAGE_TYPE ? resource.props.registry?.server : undefined;
    if (server !== undefined && server !== facts.registryServer) {
        out.push(violation(describe(resource), `logs in to the registry ${server}, not the stack's ${facts.registryServer}`, fix));
    }
    return out;
}

/** Every image is built with the standard OCI labels: the Dockerfiles set them from these build arguments. */
export function imageOciLabels(resource: CheckedResource): string[] {
    if (resource.type !== IMAGE_TYPE) return [];
    const args: Record<string, unknown> = resource.props.build?.args ?? {};
    const missing = REQUIRED_LABELS.filter(({ arg }) => typeof args[arg] !== "string" || (args[arg] as string).trim() === "");
    if (missing.length === 0) return [];
    return [
        violation(
            describe(resource),
            `is built without the build argument${missing.length > 1 ? "s" : ""} ${missing.map((m) => m.arg).join(", ")}, so its label${missing.length > 1 ? "s" : ""} ${missing.map((m) => m.label).join(", ")} would be empty`,
            "pass the catalog's buildArgs() (catalog/index.ts) as build.args, as SessionImage does, and keep the image's metadata (image.yaml) complete",
        ),
    ];
}
