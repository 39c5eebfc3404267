/**
 * @module server/auth/rate-limit
 * Sign-in throttling with rate-limiter-flexible: failures count per (IP, email) and per IP; a
 * success clears the (IP, email) counter. In memory: one server process owns its metadata file.
 */
import { RateLimiterMemory, type RateLimiterRes } from "rate-limiter-flexible";
import { ApiError } from "../errors.ts";

export class LoginLimiter {
  private readonly perAccount = new RateLimiterMemory({ points: 5, duration: 15 * 60 });
  private readonly perIp = new RateLimiterMemory({ points: 50, duration: 15 * 60 });

  private static key(ip: string, email: string): string {
    return `${ip}|${email.toLowerCase()}`;
  }

  /** Throws 429 when this IP/email already used up its attempts. */
  async check(ip: string, email: string): Promise<void> {
    const [account, address] = await Promise.all([this.perAccount.get(LoginLimiter.key(ip, email)), this.perIp.get(ip)]);
    const blocked = [account, address].filter((r): r is RateLimiterRes => !!r && r.remainingPoints <= 0 && r.consumedPoints > 0);
    if (blocked.length > 0) {
      const wait = Math.ceil(Math.max(...blocked.map((r) => r.msBeforeNext)) / 1000);
      throw new ApiError("RATE_LIMITED", `too many failed sign-ins; try again in ${wait} seconds`, undefined, {
        "Retry-After": String(wait),
      });
    }
  }

  async failed(ip: string, email: string): Promise<void> {
    await Promise.all([this.perAccount.penalty(LoginLimiter.key(ip, email), 1), this.perIp.penalty(ip, 1)]);
  }

  async succeeded(ip: string, email: string): Promise<void> {
    await this.perAccount.delete(LoginLimiter.key(ip, email));
  }
}
