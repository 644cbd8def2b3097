const tokens = new Map([
  ['alice-token', 1],
  ['bob-token', 2],
]);

/** The id of the user a request speaks for, or undefined. */
export function userFor(request) {
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return tokens.get(token);
}
