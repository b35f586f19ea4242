//# allFunctionsCalledOnLoad
/**
 * keys.js — keyboard helpers shared by the controllers.
 */

/** Whether focus is in a field that takes typing (where keys are not shortcuts). */
export function isTextField(el) {
  if (!el || el.nodeType !== 1) return false;
  if (el.isContentEditable) return true;
  const tag = el.localName;
  if (tag === 'textarea' || tag === 'select') return true;
  return tag === 'input' && !/^(button|checkbox|radio|submit|reset|image|color|file|range)$/i.test(el.type);
}
