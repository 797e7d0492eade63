// SPDX-License-Identifier: MIT
// Native libraries imported as files (see native_paths.ts).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*/cannoli-exec" {
  const path: string;
  export default path;
}
declare module "*.node" {
  const path: string;
  export default path;
}
