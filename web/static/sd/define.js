//# allFunctionsCalledOnLoad
/**
 * define.js — defines <seq-diagram> in the page's registry, once, when the
 * module is loaded in a browser. A page that wants another tag name imports
 * sd/element.js and calls SeqDiagram.define('my-tag') instead.
 */
import { SeqDiagram } from './element.js';

if (globalThis.customElements && !globalThis.customElements.get('seq-diagram')) SeqDiagram.define();

export { SeqDiagram };
