import * as pulumi from "@pulumi/pulumi";
import { Catalog, CatalogImage, isShallowClone, selectImages } from "../catalog";
import { ConfigError, Problem, StackConfig } from "./index";
import { shellQuote } from "./problems";
import { sessionTestCatalogProblems, withSessionTestImages } from "./sessionTest";

/**
 * The catalog images this stack uses, bases first: the ones it names (all when it names none),
 * the session test's (session, probe, relay) whenever the test is on, and the bases below them,
 * down to the first one taken prebuilt (`prebuiltImages`): that one is used, not built, so its
 * bases are not needed. Throws ConfigError, every problem at once, when one cannot be built for the
 * stack's platform, the session test lacks an image or a prebuilt image is not used; says which
 * images the platform skips.
 */
export function planImages(catalog: Catalog, config: StackConfig): CatalogImage[] {
    if (!config.images.enabled) return [];
    const wanted = withSessionTestImages(config.images.selected, config.sessionTest);
    const selection = selectImages(catalog, wanted, config.images.platform);
    const used = usedImages(catalog, selection.images, wanted, config.images.prebuilt);
    const problems: Problem[] = selection.unbuildable.map((reason) => ({
        key: "images",
        value: JSON.stringify(config.images.selected),
        message: `cannot be built for ${config.images.platform}: ${reason}`,
        fix: `pulumi config set imagePlatform linux/amd64 --stack ${config.stack}  (or remove the image from 'images')`,
    }));
    problems.push(...sessionTestCatalogProblems(config.sessionTest, catalog, used.map((i) => i.name), config.stack));
    for (const [name, reference] of Object.entries(config.images.prebuilt)) {
        if (!catalog.images.some((i) => i.name === name) || used.some((i) => i.name === name)) continue;
        problems.push({
            key: `prebuiltImages.${name}`,
            value: reference,
            message: `this stack does not use ${name}: it is neither named in 'images', nor the session test's, nor a base of an image it builds`,
            fix: `pulumi config rm --path ${shellQuote(`prebuiltImages.${name}`)} --stack ${config.stack}  (or add ${name} to 'images')`,
        });
    }
    if (problems.length > 0) throw new ConfigError(config.stack, problems);
    for (const s of selection.skipped) pulumi.log.info(`skipping ${s.name}: ${s.reason}`);
    if (isShallowClone()) {
        pulumi.log.warn(
            "this is a shallow git clone: image revisions cannot be traced to the last commit of each folder, so every image rebuilds. Clone with full history (actions/checkout: fetch-depth: 0).",
        );
    }
    return used;
}

/**
 * The selected images a stack uses: each wanted one (every selected one when none is named) and
 * its bases, walking down until an image taken prebuilt, whose own bases are then not needed.
 */
function usedImages(catalog: Catalog, selected: CatalogImage[], wanted: readonly string[], prebuilt: Record<string, string>): CatalogImage[] {
    const selectedNames = new Set(selected.map((i) => i.name));
    const roots = wanted.length === 0 ? [...selectedNames] : wanted.filter((n) => selectedNames.has(n));
    const used = new Set<string>();
    for (const root of roots) {
        for (const image of catalog.chain(root).reverse()) {
            used.add(image.name);
            if (Object.hasOwn(prebuilt, image.name)) break;
        }
    }
    return selected.filter((i) => used.has(i.name));
}
