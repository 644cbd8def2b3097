import { findOrder } from './store.js';

/** The order with this id, for the user asking; undefined when there is none to show. */
export function getOrder(userId, id) {
  if (userId === undefined) return undefined;
  const order = findOrder(id);
  return order;
}
