/**
 * The confirmation page names where the browser will be sent: a local program by its port, an app
 * by the scheme it handles, a web site by its host.
 */
import { describe, expect, it } from 'vitest';
import { describeDestination } from '../src/pages/destination.js';

describe('describeDestination', () => {
  it.each([
    ['http://127.0.0.1:53111/callback', 'an application on this computer, port 53111'],
    ['http://[::1]:8080/cb', 'an application on this computer, port 8080'],
    ['http://localhost:3000/cb?x=1', 'an application on this computer, port 3000'],
    ['http://127.0.0.1/callback', 'an application on this computer, port 80'],
    ['com.example.app:/oauth/callback', 'the app that handles com.example.app:'],
    ['com.example.app://callback', 'the app that handles com.example.app:'],
    ['https://app.example.com/oauth/callback', 'app.example.com'],
    ['https://app.example.com:8443/cb', 'app.example.com:8443'],
    ['https://app.example.com:443/cb', 'app.example.com'],
    ['http://dev.example.test/cb', 'dev.example.test'],
    ['not a uri', 'not a uri'],
  ])('%s: %s', (uri, expected) => {
    expect(describeDestination(uri)).toBe(expected);
  });

  it('does not take a host that merely starts like a loopback one for this computer', () => {
    expect(describeDestination('http://127.0.0.1.evil.example/cb')).toBe('127.0.0.1.evil.example');
    expect(describeDestination('http://localhost.evil.example:53111/cb')).toBe(
      'localhost.evil.example:53111',
    );
  });
});
