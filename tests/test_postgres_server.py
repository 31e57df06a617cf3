"""The tests' throwaway PostgreSQL server (tests/postgres_server.py): it starts, serves, and gives each test
its own database."""


def test_each_test_gets_its_own_empty_database_on_a_real_server(postgres_server, postgres_url):
    out = postgres_server.psql(postgres_url, "CREATE TABLE t (x int PRIMARY KEY); INSERT INTO t VALUES (1); "
                                             "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING; "
                                             "SELECT count(*) FROM t")
    assert out.strip() == "1"
    other = postgres_server.create_database()
    assert other != postgres_url
    assert postgres_server.psql(other, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").strip() == "0"
