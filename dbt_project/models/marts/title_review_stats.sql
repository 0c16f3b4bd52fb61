-- Review activity per title; every title has a row (zero counts when unreviewed).
-- "Last 7/30 days" are the 7/30 calendar days ending on the latest review_date in the
-- whole reviews mart (inclusive), not today, so a rebuild gives the same numbers.
with titles as (

    select title_id from {{ ref('titles') }}

),

reviews as (

    select * from {{ ref('reviews') }}

),

latest_review as (

    select max(review_date) as latest_review_date from reviews

),

per_title as (

    select
        reviews.title_id,
        count(*) as review_count,
        count(reviews.rating) as rated_review_count,
        avg(reviews.rating) as mean_rating,
        min(reviews.review_date) as first_review_date,
        max(reviews.review_date) as last_review_date,
        count(*) filter (
            where reviews.review_date > latest_review.latest_review_date - 7
        ) as reviews_last_7d,
        count(*) filter (
            where reviews.review_date > latest_review.latest_review_date - 30
        ) as reviews_last_30d
    from reviews
    cross join latest_review
    group by reviews.title_id

)

select
    titles.title_id,
    coalesce(per_title.review_count, 0) as review_count,
    coalesce(per_title.rated_review_count, 0) as rated_review_count,
    per_title.mean_rating,
    per_title.first_review_date,
    per_title.last_review_date,
    coalesce(per_title.reviews_last_7d, 0) as reviews_last_7d,
    coalesce(per_title.reviews_last_30d, 0) as reviews_last_30d
from titles
left join per_title
    on titles.title_id = per_title.title_id
