/**
 * Integration tests run as root inside the private network + mount namespace made by
 * scripts/in-sandbox.sh. Anything else fails here, loudly, with the command to use — never a skip.
 */
export default function setup(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'integration tests need root (they create network namespaces, routes and iptables rules). ' +
        'Run them with:  sudo npm run test:integration',
    );
  }
  if (process.env.MARGAY_IN_SANDBOX !== '1') {
    throw new Error(
      'integration tests must run inside the private network + mount namespace. ' +
        'Run them with:  npm run test:integration  (it wraps vitest in scripts/in-sandbox.sh)',
    );
  }
}
