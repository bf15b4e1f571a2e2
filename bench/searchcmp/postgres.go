package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shopedge/bench/gen"
	"shopedge/core/api"
	"shopedge/edge/textnorm"
)

// PostgreSQL, as a team would run search on it: the products in a table
// with a GIN index over to_tsvector('simple', name, brand, categories),
// and one round trip per search whose CTE finds the matches once and
// computes the top 10 (ts_rank, then popularity) and the three facets
// from them. Loaded from the same generated products; run on one
// connection. (postgres.sh starts a throwaway server.)

const pgSchema = `
DROP TABLE IF EXISTS products;
CREATE TABLE products (
	id text PRIMARY KEY,
	name text NOT NULL,
	brand text NOT NULL,
	categories text[] NOT NULL,
	price bigint NOT NULL,      -- the lowest SKU price, -1 without one
	popularity bigint NOT NULL,
	doc text NOT NULL           -- name, brand and categories, the searched text
);`

const pgIndex = `
ALTER TABLE products ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
	to_tsvector('simple', doc)) STORED;
CREATE INDEX products_tsv ON products USING gin (tsv);
ANALYZE products;`

// pgQuery takes the tsquery ($1, NULL browses) and the price facet's
// lower bounds ($2).
const pgQuery = `
WITH q AS (SELECT to_tsquery('simple', $1) AS q),
m AS (
	SELECT p.id, p.name, p.brand, p.categories, p.price, p.popularity,
	       CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank(p.tsv, q.q) END AS rank
	FROM products p, q
	WHERE $1::text IS NULL OR p.tsv @@ q.q
),
top AS (SELECT id, name, price FROM m ORDER BY rank DESC, popularity DESC, id LIMIT 10),
cats AS (SELECT c AS value, count(*) AS n FROM m, unnest(m.categories) c GROUP BY c ORDER BY n DESC, c LIMIT 20),
brands AS (SELECT brand AS value, count(*) AS n FROM m WHERE brand <> '' GROUP BY brand ORDER BY n DESC, brand LIMIT 20),
prices AS (SELECT width_bucket(price, $2::bigint[]) AS b, count(*) AS n FROM m WHERE price >= 0 GROUP BY 1)
SELECT (SELECT count(*) FROM m),
       (SELECT coalesce(json_agg(top), '[]') FROM top),
       (SELECT coalesce(json_agg(cats), '[]') FROM cats),
       (SELECT coalesce(json_agg(brands), '[]') FROM brands),
       (SELECT coalesce(json_agg(prices), '[]') FROM prices)`

func runPostgres(dsn string, n int, seed int64, src []*api.Product, qs []string, rounds int, ranges []int64, load bool) (result, error) {
	res := result{engine: "PostgreSQL (GIN, one CTE)"}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return res, fmt.Errorf("cannot connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err == nil {
		res.engine = "PostgreSQL " + version + " (GIN, one CTE)"
	}
	if load {
		t := time.Now()
		if _, err := conn.Exec(ctx, pgSchema); err != nil {
			return res, err
		}
		rows := make(chan []any, 4096)
		genErr := make(chan error, 1)
		go func() {
			defer close(rows)
			genErr <- gen.Products(n, seed, src, func(p *api.Product) error {
				price := int64(-1)
				for _, s := range p.SKUs {
					if s.Price != nil && (price < 0 || s.Price.Amount < price) {
						price = s.Price.Amount
					}
				}
				doc := p.Name + " " + p.Brand + " " + strings.Join(p.Categories, " ")
				rows <- []any{p.ID, p.Name, p.Brand, p.Categories, price, p.Popularity, doc}
				return nil
			})
		}()
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"products"}, []string{"id", "name", "brand", "categories", "price", "popularity", "doc"},
			pgx.CopyFromFunc(func() ([]any, error) {
				r, ok := <-rows
				if !ok {
					return nil, nil
				}
				return r, nil
			}))
		if err != nil {
			return res, err
		}
		if err := <-genErr; err != nil {
			return res, err
		}
		if _, err := conn.Exec(ctx, pgIndex); err != nil {
			return res, err
		}
		res.build = time.Since(t) // includes generating the products
	}
	if _, err := conn.Prepare(ctx, "search", pgQuery); err != nil {
		return res, err
	}
	norm := textnorm.NewNormalizer()
	err = replay(&res, qs, rounds, func(q string) (int, error) {
		var tsq *string
		if norm.Normalize(q) == nil && len(norm.Words) > 0 {
			words := strings.Fields(string(norm.Text))
			words[len(words)-1] += ":*"
			s := strings.Join(words, " & ")
			tsq = &s
		}
		var total int
		var top, cats, brands, prices string
		if err := conn.QueryRow(ctx, "search", tsq, ranges).Scan(&total, &top, &cats, &brands, &prices); err != nil {
			return 0, err
		}
		return total, nil
	})
	return res, err
}
