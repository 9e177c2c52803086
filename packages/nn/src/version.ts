/** This package's version (package.json's; a test keeps them equal), for what webgrad writes into files. */
export const WEBGRAD_VERSION = '0.1.0';
