// Extra views of the Architecture tab. Each view module default-exports a view object
// ({id, label, available, render}; see ../tab/views.js) and is listed here in menu order.
import { registerView } from '../tab/views.js';
import neurons from './neurons.js';
import overview from './overview.js';
import playground from './playground.js';
import volumes from './volumes.js';

const VIEWS = [
  volumes,
  overview,
  neurons,
  playground,
];

for (const view of VIEWS) registerView(view);
