// Rewrites the configuration reference in README.md from Pulumi.yaml and config/.
// Run: npm run config:readme
import * as fs from "fs";
import * as path from "path";
import { readmeWithReference, renderConfigReference } from "../config/reference";

const root = path.resolve(__dirname, "..");
const file = path.join(root, "README.md");
fs.writeFileSync(file, readmeWithReference(fs.readFileSync(file, "utf8"), renderConfigReference(root)));
console.log("README.md: configuration reference updated");
