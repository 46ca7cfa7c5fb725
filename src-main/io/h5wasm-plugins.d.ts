// Types for h5wasm-plugins 0.2.x (the package ships none): only what h5.ts uses.
declare module 'h5wasm-plugins' {
  /** Adds node_modules/h5wasm-plugins/plugins to the HDF5 plugin search path (Node build only). */
  export function install_local_plugins(h5wasmModule: unknown): void;
  export const plugin_names: string[];
}
