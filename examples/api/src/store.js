const users = [
  { id: 1, name: 'alice' },
  { id: 2, name: 'bob' },
  { id: 3, name: 'carol' },
  { id: 4, name: 'dave' },
  { id: 5, name: 'erin' },
];

const orders = [
  { id: 101, owner: 1, item: 'keyboard', total: 49 },
  { id: 102, owner: 2, item: 'monitor', total: 199 },
  { id: 103, owner: 1, item: 'cable', total: 9 },
];

export function listUsers() {
  return users;
}

export function findOrder(id) {
  return orders.find((order) => order.id === id);
}

/** One page of items; pages start at 1. */
export function paginate(items, page, size) {
  const start = page * size;
  return items.slice(start, start + size);
}
