// Extra views of the Architecture tab. Each view module default-exports a view object
// ({id, label, available, render}; see ../tab/views.js) and is listed here in menu order.
import { registerView } from '../tab/views.js';

const VIEWS = [
];

for (const view of VIEWS) registerView(view);
