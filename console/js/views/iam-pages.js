// What the IAM pages (Policies, a policy, Members) share: their breadcrumb, the notice for a
// member without CanManageIAM, and links between console pages.
import {h} from '../dom.js';
import {t} from '../i18n.js';

/** The breadcrumb of the IAM pages: IAM / `...trail`, the last one the current page. */
export function iamBreadcrumb(...trail) {
  const parts = [h('span', {}, t('nav.iam'))];
  trail.forEach((part, i) => {
    parts.push(' / ', i === trail.length - 1 ? h('span', {'aria-current': 'page'}, part) : part);
  });
  return h('nav', {class: 'breadcrumb', 'aria-label': t('nav.breadcrumb')}, parts);
}

/** The notice shown instead of an IAM page to a member without CanManageIAM. */
export function noIamAccess(titleKey) {
  return h('div', {class: 'notice'}, h('h2', {}, t(titleKey)), h('p', {}, t('iam.noAccess')));
}

/** A link to another console page that navigates without reloading. */
export function pageLink(navigate, path, text, attributes = {}) {
  return h('a', {...attributes, href: `/console${path}`, onclick: (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(path);
  }}, text);
}
