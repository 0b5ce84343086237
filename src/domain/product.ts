/** A catalog product with one unit price per currency, in minor units. */
export interface Product {
  readonly id: string;
  readonly title: string;
  readonly active: boolean;
  readonly prices: readonly ProductPrice[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ProductPrice {
  readonly currency: string;
  readonly amount: bigint;
}
