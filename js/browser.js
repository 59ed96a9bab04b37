// Browser entry: the API, with the wasm core fetched from next to this package on first use or by `init()`.
// Nothing waits at the top level, so a module service worker can import it. (No stdio: a page cannot start
// processes.)
import { platform } from './platform.js';
import { popupSignIn } from './popup.js';

// A page signs a person in with a popup when the application gives no `auth.authorize`.
platform.signIn = popupSignIn;

export * from './core.js';
