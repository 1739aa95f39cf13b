import * as pulumi from "@pulumi/pulumi";
import { Catalog, CatalogImage, isShallowClone, selectImages } from "../catalog";
import { ConfigError, Problem, StackConfig } from "./index";
import { sessionTestCatalogProblems, withSessionTestImages } from "./sessionTest";

/**
 * The catalog images this stack builds, bases first: the ones it names (all when it names none),
 * the session test's (session, probe, relay) whenever the test is on, and the bases below them.
 * Throws ConfigError, every problem at once, when one cannot be built for the stack's platform or
 * the session test lacks an image; says which images the platform skips.
 */
export function planImages(catalog: Catalog, config: StackConfig): CatalogImage[] {
    if (!config.images.enabled) return [];
    const selection = selectImages(catalog, withSessionTestImages(config.images.selected, config.sessionTest), config.images.platform);
    const problems: Problem[] = selection.unbuildable.map((reason) => ({
        key: "images",
        value: JSON.stringify(config.images.selected),
        message: `cannot be built for ${config.images.platform}: ${reason}`,
        fix: `pulumi config set imagePlatform linux/amd64 --stack ${config.stack}  (or remove the image from 'images')`,
    }));
    problems.push(...sessionTestCatalogProblems(config.sessionTest, catalog, selection.images.map((i) => i.name), config.stack));
    if (problems.length > 0) throw new ConfigError(config.stack, problems);
    for (const s of selection.skipped) pulumi.log.info(`skipping ${s.name}: ${s.reason}`);
    if (isShallowClone()) {
        pulumi.log.warn(
            "this is a shallow git clone: image revisions cannot be traced to the last commit of each folder, so every image rebuilds. Clone with full history (actions/checkout: fetch-depth: 0).",
        );
    }
    return selection.images;
}
